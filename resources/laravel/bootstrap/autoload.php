<?php

/*
|--------------------------------------------------------------------------
| Autoloader shim
|--------------------------------------------------------------------------
|
| 1. If the app was installed with Composer (a vendor/ directory is present,
|    e.g. COPY --from=composer-stage /app/vendor), use Composer's autoloader.
|    It covers the framework *and* App\ / Database\ from composer.json.
| 2. Otherwise use Debian's packaged Laravel (php-laravel-framework, 8.83),
|    which ships one autoload.php for the framework and all its dependencies,
|    plus a small PSR-4 loader for this application's own namespaces.
|
*/

$composerAutoload = dirname(__DIR__).'/vendor/autoload.php';

if (is_file($composerAutoload)) {
    return require $composerAutoload;
}

require_once '/usr/share/php/Illuminate/autoload.php';

spl_autoload_register(static function (string $class): void {
    static $prefixes = null;

    if ($prefixes === null) {
        $base = dirname(__DIR__);
        // Keep in sync with "autoload.psr-4" in composer.json.
        $prefixes = [
            'App\\' => $base.'/app/',
            'Database\\Factories\\' => $base.'/database/factories/',
            'Database\\Seeders\\' => $base.'/database/seeders/',
        ];
    }

    foreach ($prefixes as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
            if (is_file($file)) {
                require $file;
            }

            return;
        }
    }
});
