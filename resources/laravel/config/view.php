<?php

return [

    'paths' => [
        resource_path('views'),
    ],

    // The only place the app writes at run time (compiled Blade templates).
    // The image pre-compiles them at build time (php artisan view:cache).
    'compiled' => env(
        'VIEW_COMPILED_PATH',
        realpath(storage_path('framework/views')) ?: storage_path('framework/views')
    ),

];
