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
        if ($this->app->runningInConsole()) {
            Event::listen(Looping::class, [$this, 'quitOnSigquit']);
            $this->touchHeartbeat();
        }
    }

    /**
     * Laravel 8's queue worker stops gracefully (the job in hand first) on SIGTERM only, which
     * is what ECS (and the harness's local runtime) sends. The image's STOPSIGNAL is SIGQUIT,
     * php-fpm's graceful stop, and plain Docker (compose) sends it to every container of the
     * image, the worker's too. Without this the worker, PID 1, ignores SIGQUIT and is killed
     * mid-job when the stop timeout ends; with it, either signal stops it gracefully.
     */
    public function quitOnSigquit(): void
    {
        static $installed = false;
        if ($installed || ! extension_loaded('pcntl')) {
            return;
        }
        $installed = true;
        $worker = $this->app->make('queue.worker');
        pcntl_signal(SIGQUIT, function () use ($worker) {
            $worker->shouldQuit = true;
        });
    }

    /**
     * The queue worker's liveness: each turn of its loop (and each job it starts) touches the
     * heartbeat file that the worker container's health check reads.
     */
    private function touchHeartbeat(): void
    {
        $heartbeat = env('QUEUE_WORKER_HEARTBEAT');
        if (! $heartbeat) {
            return;
        }
        $touch = function () use ($heartbeat) {
            @touch($heartbeat);
        };
        Event::listen(Looping::class, $touch);
        Event::listen(JobProcessing::class, $touch);
    }
}
