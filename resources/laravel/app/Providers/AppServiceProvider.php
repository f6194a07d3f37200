<?php

namespace App\Providers;

use Illuminate\Queue\Events\JobProcessing;
use Illuminate\Queue\Events\Looping;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    /**
     * @return void
     */
    public function register()
    {
        //
    }

    /**
     * @return void
     */
    public function boot()
    {
        // The queue worker's liveness: each turn of its loop (and each job it starts) touches
        // the heartbeat file that the worker container's health check reads.
        $heartbeat = env('QUEUE_WORKER_HEARTBEAT');
        if ($this->app->runningInConsole() && $heartbeat) {
            $touch = function () use ($heartbeat) {
                @touch($heartbeat);
            };
            Event::listen(Looping::class, $touch);
            Event::listen(JobProcessing::class, $touch);
        }
    }
}
