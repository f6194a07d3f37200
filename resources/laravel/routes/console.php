<?php

use Illuminate\Support\Facades\Artisan;

Artisan::command('app:pending-migrations', function (App\Support\Health $health) {
    $pending = $health->pendingMigrations();
    foreach ($pending as $name) {
        $this->line($name);
    }

    return $pending === [] ? 0 : 1;
})->purpose('List pending migrations; exit 1 when there are any');

Artisan::command('app:queue-greeting {message} {--seconds=0}', function (string $message) {
    App\Jobs\StoreGreeting::dispatch($message, (int) $this->option('seconds'));
    $this->line("queued: {$message}");
})->purpose('Queue a greeting as the form does; --seconds makes the job take that long');
