<?php

namespace App\Http\Controllers;

use App\Models\Greeting;

class GreetingController extends Controller
{
    public function index()
    {
        return view('welcome', [
            'greetings' => Greeting::query()->orderBy('id')->get(),
        ]);
    }
}
