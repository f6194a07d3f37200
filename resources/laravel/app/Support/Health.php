<?php

namespace App\Support;

use Illuminate\Database\DatabaseManager;
use Illuminate\Database\Migrations\Migrator;
use Throwable;

class Health
{
    /** @var DatabaseManager */
    private $db;

    /** @var Migrator */
    private $migrator;

    /**
     * The migrator is bound as 'migrator' (deferred MigrationServiceProvider),
     * not by class name, so it cannot be type-hinted.
     */
    public function __construct(DatabaseManager $db, ?Migrator $migrator = null)
    {
        $this->db = $db;
        $this->migrator = $migrator ?? app('migrator');
    }

    /**
     * Null when healthy, otherwise a short human-readable reason.
     */
    public function problem(): ?string
    {
        $name = $this->db->getDefaultConnection();
        $config = config("database.connections.$name", []);

        // Fail fast (one short TCP probe) before handing over to PDO: Laravel
        // retries a connect that failed with a "lost connection" error such as
        // "Connection refused", which would double the PDO connect timeout.
        if (! $this->tcpReachable($config)) {
            return 'database unreachable';
        }

        try {
            $this->db->connection($name)->getPdo();
        } catch (Throwable $e) {
            logger()->warning('healthz: '.$e->getMessage());

            return 'database unreachable';
        }

        try {
            $pending = $this->pendingMigrations();
        } catch (Throwable $e) {
            logger()->warning('healthz: '.$e->getMessage());

            return 'database unreachable';
        }

        if ($pending !== []) {
            return 'pending migrations: '.implode(', ', $pending);
        }

        return null;
    }

    /**
     * Names of migration files that are not recorded in the migrations table.
     *
     * @return array<int, string>
     */
    public function pendingMigrations(): array
    {
        $files = $this->migrator->getMigrationFiles($this->migrationPaths());

        $ran = $this->migrator->repositoryExists()
            ? $this->migrator->getRepository()->getRan()
            : [];

        return array_values(array_diff(array_keys($files), $ran));
    }

    /**
     * @return array<int, string>
     */
    private function migrationPaths(): array
    {
        return array_merge([database_path('migrations')], $this->migrator->paths());
    }

    /**
     * @param  array<string, mixed>  $config
     */
    private function tcpReachable(array $config): bool
    {
        if (($config['driver'] ?? null) !== 'mysql' || ! empty($config['unix_socket'])) {
            return true; // nothing to probe; let PDO decide
        }

        $host = $config['host'] ?? '127.0.0.1';
        $host = is_array($host) ? reset($host) : $host;
        $port = (int) ($config['port'] ?? 3306);
        $timeout = (float) config('database.health_probe_timeout', 1.5);

        $errno = 0;
        $errstr = '';
        $socket = @fsockopen($host, $port, $errno, $errstr, $timeout);

        if ($socket === false) {
            return false;
        }

        fclose($socket);

        return true;
    }
}
