"""The local overrides the runtime applies: the DB host, the Redis transport, and dev mode's
source mounts.

The local runtime, the compose export and ``invoke parity``'s report (``parity.commands.report``)
all take them from here, so what the report lists is what the runs do.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from parity.assembly.apptasks import AppTasks, stack_names
from parity.assembly.taskdef import TaskDefinition
from parity.runtime.task import BindMount

DB_HOST_VARIABLE = "DB_HOST"
# ElastiCache encrypts in transit (the app connects with tls://); the local Redis speaks plain
# TCP on the run's private network, so the app's scheme variable says so.
REDIS_SCHEME_VARIABLE = "REDIS_SCHEME"
LOCAL_REDIS_SCHEME = "tcp"
# Every port a local run publishes binds to loopback: a dev app or database open to the LAN
# is a security hole.
DEPLOYED_DATABASE = "Aurora MySQL 3 (MySQL 8.0 compatible)"
# Dev mode: the app's PHP source in the repository, mounted read-only over the image's copy.
APP_SOURCE = Path("resources") / "laravel"
APP_SOURCE_IN_IMAGE = "/application"
APP_SOURCE_DIRS = ("app", "routes", "resources/views", "config", "database")
SOURCE_MOUNT_ENVIRONMENT = {"PHP_OPCACHE_VALIDATE_TIMESTAMPS": "1"}
MISSING = "—"


class TaskKind(StrEnum):
    MIGRATION = "migration"
    SERVICE = "service"


def app_task_definitions(tasks: AppTasks) -> tuple[tuple[TaskKind, str, TaskDefinition], ...]:
    """(kind, stack, task definition) of the migration and the service task, in run order."""
    migration_stack, service_stack = stack_names(tasks.env)
    return (
        (TaskKind.MIGRATION, migration_stack, tasks.migration),
        (TaskKind.SERVICE, service_stack, tasks.service),
    )


# -- what the local runtime applies -------------------------------------------------------


def environment_overrides(*, db_host: str) -> dict[str, str]:
    """Env values a local run replaces, in each container whose task definition sets them."""
    return {DB_HOST_VARIABLE: db_host, REDIS_SCHEME_VARIABLE: LOCAL_REDIS_SCHEME}


def source_mount_environment(tasks: AppTasks) -> dict[str, dict[str, str]]:
    """Dev mode: env the mounted containers get on top of the task definition's. The image
    caches compiled PHP for good (its code never changes); mounted code must be re-read."""
    return {name: dict(SOURCE_MOUNT_ENVIRONMENT) for name in app_containers(tasks)}


def app_containers(tasks: AppTasks) -> list[str]:
    """The service containers that run the app image (the migration's image)."""
    app_image = tasks.migration.container(tasks.watched_container).image
    return [c.name for c in tasks.service.containers if c.image == app_image]


def service_bind_mounts(project_root: Path, tasks: AppTasks) -> dict[str, tuple[BindMount, ...]]:
    """Dev mode: the app's PHP source from the repository, over the image's copy."""
    source = project_root / APP_SOURCE
    mounts = tuple(
        BindMount(
            host_path=source / relative,
            container_path=f"{APP_SOURCE_IN_IMAGE}/{relative}",
            read_only=True,
        )
        for relative in APP_SOURCE_DIRS
        if (source / relative).is_dir()
    )
    return {name: mounts for name in app_containers(tasks)}
