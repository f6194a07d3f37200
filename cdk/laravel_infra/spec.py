"""The app spec: the single description of the Laravel containers.

The migration task and the service task are both built from this module, so their env, secrets
and image cannot drift apart. Everything environment-specific comes from ``EnvironmentConfig``.
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

NGINX_PORT = 8080
DB_PORT = 3306
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

# Both scripts ship in their images.
LARAVEL_HEALTH_CHECK_SCRIPT = "php-fpm-healthcheck"
NGINX_HEALTH_CHECK_SCRIPT = "nginx-healthcheck"
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
class LaravelRuntime:
    """What every Laravel container (``laravel`` and ``migrate``) shares: image, env, secrets."""

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
        },
        secrets={
            "DB_USERNAME": ecs.Secret.from_secrets_manager(db_secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(db_secret, "password"),
            "APP_KEY": ecs.Secret.from_secrets_manager(app_key_secret),
            "MAIL_PASSWORD": ecs.Secret.from_ssm_parameter(mail_password),
        },
    )
