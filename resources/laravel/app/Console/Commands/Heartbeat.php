<?php

namespace App\Console\Commands;

use Illuminate\Console\Command;
use Illuminate\Support\Facades\DB;

/**
 * The scheduler's visible effect: one row per name with the time of the last run, which
 * /healthz reports.
 */
class Heartbeat extends Command
{
    /** @var string */
    protected $signature = 'app:heartbeat {name=scheduler}';

    /** @var string */
    protected $description = 'Record that the scheduler ran (reported by /healthz)';

    public function handle(): int
    {
        $now = now();
        DB::table('heartbeats')->updateOrInsert(
            ['name' => $this->argument('name')],
            ['beat_at' => $now]
        );
        $this->line("heartbeat {$this->argument('name')} at {$now->toIso8601String()}");

        return 0;
    }
}
