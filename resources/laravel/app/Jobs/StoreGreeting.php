<?php

namespace App\Jobs;

use App\Models\Greeting;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Stores a greeting posted through the form. It runs on the queue worker (Redis queue), so the
 * page shows the greeting only once a worker has taken the job.
 */
class StoreGreeting implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    /** @var string */
    public $message;

    /**
     * Seconds of work before the greeting is stored (0 from the form): a job still in flight
     * when its worker is told to stop, for the harness's stop tests.
     *
     * @var int
     */
    public $seconds;

    public function __construct(string $message, int $seconds = 0)
    {
        $this->message = $message;
        $this->seconds = $seconds;
    }

    public function handle(): void
    {
        // A loop, not sleep(): a signal cuts sleep() short, and the work must take its time.
        $until = microtime(true) + $this->seconds;
        while (microtime(true) < $until) {
            usleep(100000);
        }
        Greeting::create(['message' => $this->message]);
    }
}
