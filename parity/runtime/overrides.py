"""The local overrides the runtime applies: the DB host, the user's declared env values, and
dev mode's source mounts.

The local runtime, the compose export and ``invoke parity``'s report (``parity.commands.report``)
all take them from here, so what the report lists is what the runs do.
"""

from __future__ import annotations

from pathlib import Path

from parity.assembly.apptasks import AppTasks
from parity.assembly.taskdef import TaskDefinition
from parity.config.harness import DevConfig
from parity.runtime.task import BindMount

DEPLOYED_DATABASE = "Aurora MySQL 3 (MySQL 8.0 compatible)"
MIGRATION = "migration"
MISSING = "—"


def app_task_definitions(tasks: AppTasks) -> tuple[tuple[str, str, TaskDefinition], ...]:
    """(label, stack, task definition) of the migration task and of every service, in run
    order; a service's label is its key."""
    return (
        (MIGRATION, tasks.migration_stack, tasks.migration),
        *((service.key, service.stack, service.task) for service in tasks.services),
    )


def fargate_environment(region: str) -> dict[str, str]:
    """What Fargate sets in every container of a task, unless the task definition does."""
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
    }


def db_host_variable(tasks: AppTasks) -> str:
    """The env name the app reads its DB host from (fargate-parity.toml's [database])."""
    return tasks.database.env["host"]


def environment_overrides(tasks: AppTasks, *, db_host: str) -> dict[str, str]:
    """Env values a local run replaces, in each container whose task definition sets them:
    the DB host, and what fargate-parity.toml declares."""
    declared = {override.target: override.value for override in tasks.environment_overrides}
    return {**declared, db_host_variable(tasks): db_host}


def app_containers(tasks: AppTasks) -> dict[str, list[str]]:
    """Per service key, the containers that run the app image (the migration's image)."""
    return {
        service.key: [c.name for c in service.task.containers if c.image == tasks.app_image]
        for service in tasks.services
    }


def source_mount_environment(tasks: AppTasks, dev: DevConfig) -> dict[str, dict[str, str]]:
    """Dev mode: env the mounted containers get on top of the task definition's (an image
    may cache compiled code for good; mounted code must be re-read)."""
    return {
        name: dict(dev.environment) for names in app_containers(tasks).values() for name in names
    }


def service_bind_mounts(
    project_root: Path, tasks: AppTasks, dev: DevConfig
) -> dict[str, tuple[BindMount, ...]]:
    """Dev mode: the app's source from the repository, over the image's copy (read-only)."""
    mounts = tuple(
        BindMount(
            host_path=project_root / mount.host,
            container_path=mount.container,
            read_only=True,
        )
        for mount in dev.source_mounts
        if (project_root / mount.host).is_dir()
    )
    return {name: mounts for names in app_containers(tasks).values() for name in names}
