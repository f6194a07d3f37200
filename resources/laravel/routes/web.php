<?php

use App\Http\Controllers\GreetingController;
use App\Http\Controllers\HealthController;
use App\Http\Kernel;
use Illuminate\Support\Facades\Route;

Route::get('/', [GreetingController::class, 'index'])->name('home');

// Queues a StoreGreeting job; the greeting shows once the queue worker has run it.
Route::post('/greetings', [GreetingController::class, 'store'])->name('greetings.store');

Route::get('/healthz', HealthController::class)
    ->withoutMiddleware(Kernel::SESSION_MIDDLEWARE)
    ->name('healthz');
