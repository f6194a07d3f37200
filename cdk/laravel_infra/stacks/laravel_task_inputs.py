"""What every stack with a Laravel task needs before it defines the task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_logs as logs

from laravel_infra import spec
from laravel_infra.config import EnvironmentConfig
from laravel_infra.constructs.app_secrets import ImportedAppSecrets
from laravel_infra.constructs.image import AppImage
from laravel_infra.constructs.laravel_task import LaravelCommand, LaravelTask
from laravel_infra.constructs.log_group import TaskLogGroup
from laravel_infra.constructs.network import ImportedNetwork
from laravel_infra.constructs.task_security_group import TaskSecurityGroup


@dataclass(frozen=True)
class LaravelTaskInputs:
    log_group: logs.ILogGroup
    runtime: spec.LaravelRuntime


def add_network(stack: Stack, *, config: EnvironmentConfig) -> ImportedNetwork:
    """Adds "Network" directly to ``stack``: the migration stack's Redis needs it before the
    runtime (which holds the Redis endpoint) can be described."""
    return ImportedNetwork(
        stack,
        "Network",
        vpc_id=config.vpc_id,
        vpc_cidr=config.vpc_cidr,
        availability_zones=config.availability_zones,
        private_subnet_ids=config.private_subnet_ids,
    )


def add_app_secrets(stack: Stack, *, config: EnvironmentConfig) -> ImportedAppSecrets:
    """Adds "AppSecrets" directly to ``stack``."""
    return ImportedAppSecrets(
        stack,
        "AppSecrets",
        db_secret_arn=config.db_secret_arn,
        app_key_secret_arn=config.app_key_secret_arn,
        mail_password_parameter_name=config.mail_password_parameter_name,
        redis_auth_secret_arn=config.redis_auth_secret_arn,
    )


def add_laravel_task_inputs(
    stack: Stack,
    *,
    config: EnvironmentConfig,
    resources_dir: Path,
    log_group_name: str,
    secrets: ImportedAppSecrets,
    cache: spec.CacheEndpoint,
) -> LaravelTaskInputs:
    """Adds "LaravelImage" and "Logs" directly to ``stack``.

    Functions rather than constructs: a construct would put its own ID into these paths and so
    change every logical ID beneath them. Each stack adds its own TaskSecurity, at a different
    point: templates list resources in creation order, so moving it would reorder one of them.
    """
    laravel_image = AppImage(
        stack, "LaravelImage", resources_dir=resources_dir, build=spec.LARAVEL_IMAGE
    )
    task_logs = TaskLogGroup(
        stack, "Logs", log_group_name=log_group_name, retention_days=config.log_retention_days
    )
    return LaravelTaskInputs(
        log_group=task_logs.log_group,
        runtime=spec.laravel_runtime(
            config=config,
            image=laravel_image.container_image,
            db_secret=secrets.db_secret,
            app_key_secret=secrets.app_key_secret,
            mail_password=secrets.mail_password,
            redis_auth_secret=secrets.redis_auth_secret,
            cache=cache,
        ),
    )


def add_cache_reader_inputs(
    stack: Stack,
    *,
    config: EnvironmentConfig,
    resources_dir: Path,
    log_group_name: str,
    cache: spec.CacheEndpoint,
) -> tuple[ImportedNetwork, LaravelTaskInputs]:
    """The start of every stack but the migration's: "Network", "AppSecrets", "LaravelImage"
    and "Logs", with the Redis endpoint the migration stack publishes."""
    network = add_network(stack, config=config)
    inputs = add_laravel_task_inputs(
        stack,
        config=config,
        resources_dir=resources_dir,
        log_group_name=log_group_name,
        secrets=add_app_secrets(stack, config=config),
        cache=cache,
    )
    return network, inputs


@dataclass(frozen=True)
class BackgroundTask:
    task: LaravelTask
    security: TaskSecurityGroup


def add_background_task(
    stack: Stack,
    construct_id: str,
    *,
    config: EnvironmentConfig,
    network: ImportedNetwork,
    inputs: LaravelTaskInputs,
    cache: spec.CacheEndpoint,
    family: str,
    command: LaravelCommand,
    purpose: str,
) -> BackgroundTask:
    """The worker's and the scheduler's task (``construct_id``) and "TaskSecurity": one Laravel
    container running ``command``, in a group admitted to the database and Redis."""
    task = LaravelTask(
        stack,
        construct_id,
        family=family,
        cpu=config.cpu,
        memory=config.memory,
        runtime=inputs.runtime,
        log_group=inputs.log_group,
        command=command,
        purpose=purpose,
    )
    security = TaskSecurityGroup(
        stack,
        "TaskSecurity",
        vpc=network.vpc,
        description=f"Laravel {config.name} {purpose}",
        db_security_group_id=config.db_security_group_id,
        cache_security_group_id=cache.security_group_id,
    )
    return BackgroundTask(task=task, security=security)
