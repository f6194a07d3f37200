"""The app spec: the single description of the Laravel containers.

The migration, web, worker and scheduler tasks are all built from this module, so their env,
secrets and image cannot drift apart. Everything environment-specific comes from
``EnvironmentConfig``; the Redis endpoint comes from the cache the migration stack creates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm

from laravel_infra.config import EnvironmentConfig

LARAVEL_CONTAINER = "laravel"
NGINX_CONTAINER = "nginx"
MIGRATION_CONTAINER = "migrate"
MIGRATION_COMMAND = ("php", "artisan", "migrate", "--force")
MIGRATION_LOG_STREAM_PREFIX = "migration"
SERVICE_LOG_STREAM_PREFIX = "service"

# The queue worker: a job may run WORKER_JOB_TIMEOUT_S; on SIGTERM (a deployment, a scale-in)
# `queue:work` finishes the job in hand before it exits, and ECS waits WORKER_STOP_TIMEOUT
# (Fargate's maximum) before SIGKILL. The Redis queue hands a job out again only after its
# `retry_after` (config/queue.php), which is longer than both, so no job runs twice.
WORKER_CONTAINER = "worker"
WORKER_JOB_TIMEOUT_S = 90
WORKER_STOP_TIMEOUT = Duration.seconds(120)
WORKER_COMMAND = (
    "php", "artisan", "queue:work", "redis", "--sleep=1", "--tries=3",
    f"--timeout={WORKER_JOB_TIMEOUT_S}",
)  # fmt: skip
WORKER_LOG_STREAM_PREFIX = "worker"
# Laravel's scheduler: one short-lived task a minute runs whatever is due.
SCHEDULER_CONTAINER = "scheduler"
SCHEDULER_COMMAND = ("php", "artisan", "schedule:run")
SCHEDULE_EXPRESSION = "rate(1 minute)"
SCHEDULER_LOG_STREAM_PREFIX = "scheduler"

NGINX_PORT = 8080
DB_PORT = 3306
# Not Redis's default 6379: cdk-nag's AwsSolutions-AEC5 (fewer drive-by scans).
REDIS_PORT = 6380
REDIS_ENGINE_VERSION = "7.1"
# A primary and one replica in another zone: automatic failover (cdk-nag AwsSolutions-AEC4).
REDIS_NODES = 2
# Laravel answers 200 here only when the DB is reachable and no migration is pending.
HEALTH_CHECK_PATH = "/healthz"


@dataclass(frozen=True, kw_only=True)
class ImageBuild:
    """How one image is built from ``resources/``: the Dockerfile and its stage."""

    file: str
    target: str | None = None


LARAVEL_IMAGE = ImageBuild(file="Dockerfile-laravel", target="runtime")
NGINX_IMAGE = ImageBuild(file="Dockerfile-nginx")

# On top of resources/.dockerignore (CDK merges it in): the extra CA certificates a machine adds
# for its own builds must not reach the published images or change their hash.
IMAGE_CONTEXT_EXCLUDES = ("certs",)

# The scripts ship in their images. The worker's passes while the queue loop has touched its
# heartbeat file recently (the image sets where), so a hung worker is replaced.
LARAVEL_HEALTH_CHECK_SCRIPT = "php-fpm-healthcheck"
NGINX_HEALTH_CHECK_SCRIPT = "nginx-healthcheck"
WORKER_HEALTH_CHECK_SCRIPT = "queue-worker-healthcheck"
# Fargate's default, written down so the local runtime and the image builds match it.
RUNTIME_PLATFORM = ecs.RuntimePlatform(
    operating_system_family=ecs.OperatingSystemFamily.LINUX,
    cpu_architecture=ecs.CpuArchitecture.X86_64,
)


def container_health_check(script: str) -> ecs.HealthCheck:
    """The same timings for every container: a hung one is marked unhealthy within ~15 s."""
    return ecs.HealthCheck(
        command=["CMD-SHELL", script],
        interval=Duration.seconds(5),
        timeout=Duration.seconds(3),
        retries=3,
        start_period=Duration.seconds(10),
    )


@dataclass(frozen=True, kw_only=True)
class CacheEndpoint:
    """Where the app's Redis answers, and the security group that admits its tasks."""

    host: str
    port: str
    security_group_id: str


@dataclass(frozen=True, kw_only=True)
class LaravelRuntime:
    """What every Laravel container (migrate, laravel, worker, scheduler) shares: image, env,
    secrets."""

    image: ecs.ContainerImage
    environment: Mapping[str, str]
    secrets: Mapping[str, ecs.Secret]


def laravel_runtime(
    *,
    config: EnvironmentConfig,
    image: ecs.ContainerImage,
    db_secret: secretsmanager.ISecret,
    app_key_secret: secretsmanager.ISecret,
    mail_password: ssm.IParameter,
    redis_auth_secret: secretsmanager.ISecret,
    cache: CacheEndpoint,
) -> LaravelRuntime:
    return LaravelRuntime(
        image=image,
        environment={
            "APP_ENV": config.name,
            "APP_DEBUG": "false",
            "LOG_CHANNEL": "stderr",
            "DB_CONNECTION": "mysql",
            "DB_HOST": config.db_endpoint,
            "DB_PORT": str(DB_PORT),
            "DB_DATABASE": config.db_name,
            "CACHE_DRIVER": "redis",
            "SESSION_DRIVER": "redis",
            "QUEUE_CONNECTION": "redis",
            "REDIS_HOST": cache.host,
            "REDIS_PORT": cache.port,
            # ElastiCache encrypts in transit; phpredis then connects with tls://.
            "REDIS_SCHEME": "tls",
        },
        secrets={
            "DB_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
            "APP_KEY": ecs.Secret.from_secrets_manager(app_key_secret),
            "MAIL_PASSWORD": ecs.Secret.from_ssm_parameter(mail_password),
            "REDIS_PASSWORD": ecs.Secret.from_secrets_manager(redis_auth_secret),
        },
    )
