<?php

use Illuminate\Support\Facades\Artisan;

Artisan::command('app:pending-migrations', function (App\Support\Health $health) {
    $pending = $health->pendingMigrations();
    foreach ($pending as $name) {
        $this->line($name);
    }

    return $pending === [] ? 0 : 1;
})->purpose('List pending migrations; exit 1 when there are any');
