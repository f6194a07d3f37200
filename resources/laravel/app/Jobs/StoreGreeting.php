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

    public function __construct(string $message)
    {
        $this->message = $message;
    }

    public function handle(): void
    {
        Greeting::create(['message' => $this->message]);
    }
}
