<?php

namespace App\Http\Controllers;

use App\Jobs\StoreGreeting;
use App\Models\Greeting;
use Illuminate\Http\RedirectResponse;
use Illuminate\Http\Request;

class GreetingController extends Controller
{
    public function index()
    {
        return view('welcome', [
            'greetings' => Greeting::query()->orderBy('id')->get(),
        ]);
    }

    /**
     * POST /greetings: the greeting is stored by a queued job, not here, so it appears on the
     * page only after the queue worker took the job from Redis.
     */
    public function store(Request $request): RedirectResponse
    {
        $validated = $request->validate(['message' => ['required', 'string', 'max:255']]);
        StoreGreeting::dispatch($validated['message']);

        // A relative Location: nginx hands PHP the Host without its port (Debian's
        // fastcgi_params), so an absolute URL would lose a published port such as 8080.
        return redirect()->away(route('home', [], false))
            ->with('status', 'Greeting queued: it shows once the worker has stored it.');
    }
}
