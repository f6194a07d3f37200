<?php

namespace App\Support;

use Illuminate\Database\DatabaseManager;
use Illuminate\Database\Migrations\Migrator;
use Illuminate\Support\Carbon;
use Illuminate\Support\Facades\Redis;
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

        if ($this->usesRedis() && ! $this->redisAnswers()) {
            return 'redis unreachable';
        }

        return null;
    }

    /**
     * When the scheduler last ran (its heartbeat row), as ISO 8601; null before its first run.
     */
    public function schedulerLastRun(): ?string
    {
        try {
            $beat = $this->db->connection()->table('heartbeats')
                ->where('name', 'scheduler')
                ->value('beat_at');
        } catch (Throwable $e) {
            return null; // the table comes with a migration; healthz reports pending ones
        }

        return $beat === null ? null : Carbon::parse($beat, 'UTC')->toIso8601String();
    }

    /**
     * The cache, the sessions or the queue are in Redis (as the task definitions set them).
     */
    private function usesRedis(): bool
    {
        return in_array('redis', [
            config('cache.default'),
            config('session.driver'),
            config('queue.default'),
        ], true);
    }

    private function redisAnswers(): bool
    {
        try {
            Redis::connection()->ping();

            return true;
        } catch (Throwable $e) {
            logger()->warning('healthz: redis: '.$e->getMessage());

            return false;
        }
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
