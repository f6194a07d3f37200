<?php

use App\Http\Controllers\GreetingController;
use App\Http\Controllers\HealthController;
use Illuminate\Support\Facades\Route;

Route::get('/', [GreetingController::class, 'index'])->name('home');

Route::get('/healthz', HealthController::class)->name('healthz');
