"""The local overrides the runtime applies: the DB host, dev mode's source mounts, and with
``--hot`` Vite's dev server.

The local runtime, the compose export and ``invoke parity``'s report (``parity.commands.report``)
all take them from here, so what the report lists is what the runs do.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from parity.assembly.apptasks import AppTasks, stack_names
from parity.assembly.cloud import DockerImageAsset
from parity.assembly.taskdef import ContainerSpec, HealthCheck, PortMapping, TaskDefinition
from parity.engine.images import ImageBuild
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.runtime.task import BindMount

DB_HOST_VARIABLE = "DB_HOST"
# Every port a local run publishes binds to loopback: a dev app or database open to the LAN
# is a security hole.
DEPLOYED_DATABASE = "Aurora MySQL 3 (MySQL 8.0 compatible)"
# Dev mode: the app's PHP source in the repository, mounted read-only over the image's copy.
APP_SOURCE = Path("resources") / "laravel"
APP_SOURCE_IN_IMAGE = "/application"
APP_SOURCE_DIRS = ("app", "routes", "resources/views", "config", "database")
SOURCE_MOUNT_ENVIRONMENT = {"PHP_OPCACHE_VALIDATE_TIMESTAMPS": "1"}
# Dev mode --hot: Vite's dev server runs from the stage of the app image's Dockerfile that
# builds the assets (Debian's node, the locked node_modules, in its WORKDIR).
VITE_STAGE = "assets"
VITE_WORKDIR = "/app"
VITE_SOURCE_DIRS = ("resources/js", "resources/css")
VITE_CONTAINER = "vite"
DEFAULT_VITE_PORT = 5173
# vite.config.js sets server.origin from it: the URL the browser reaches the server at.
VITE_URL_VARIABLE = "VITE_DEV_SERVER_URL"
# Its file watcher polls the mounts: file events from the host get lost. On a busy machine
# Vite read a half-written file and then missed the rest of the write (6 of 7 runs of 5 to
# 15 edits lost one at a load of 6 to 8 on 2 cores; none of 90 edits with polling), and
# some Docker Desktop file shares pass no events at all.
VITE_WATCH_ENVIRONMENT = {"CHOKIDAR_USEPOLLING": "1", "CHOKIDAR_INTERVAL": "50"}
# Laravel's convention: public/hot holds the dev server's URL, and the page then loads its
# entries from there instead of public/build's manifest. Gitignored, written per run.
HOT_FILE = Path(".local") / "hot"
HOT_FILE_IN_IMAGE = f"{APP_SOURCE_IN_IMAGE}/public/hot"
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
    return {DB_HOST_VARIABLE: db_host}


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
    mounts = app_source_mounts(project_root, APP_SOURCE_DIRS, into=APP_SOURCE_IN_IMAGE)
    return {name: mounts for name in app_containers(tasks)}


def app_source_mounts(
    project_root: Path, relatives: tuple[str, ...], *, into: str
) -> tuple[BindMount, ...]:
    """Read-only mounts of the app's source folders that exist, each at ``into``/its path."""
    source = project_root / APP_SOURCE
    return tuple(
        BindMount(host_path=source / relative, container_path=f"{into}/{relative}", read_only=True)
        for relative in relatives
        if (source / relative).is_dir()
    )


def dev_mode_bind_mounts(
    project_root: Path, tasks: AppTasks, *, hot: bool
) -> dict[str, tuple[BindMount, ...]]:
    """The service task's dev-mode mounts: the PHP source, and with ``hot`` the hot file."""
    mounts = service_bind_mounts(project_root, tasks)
    if hot:
        for name, hot_mounts in hot_file_mounts(project_root, tasks).items():
            mounts[name] = (*mounts.get(name, ()), *hot_mounts)
    return mounts


# -- dev mode --hot: Vite's dev server ------------------------------------------------------


def hot_url(port: int) -> str:
    """Where the browser reaches the dev server: the loopback port the holder publishes."""
    return f"http://{LOOPBACK_ADDRESS}:{port}"


def hot_file_mounts(project_root: Path, tasks: AppTasks) -> dict[str, tuple[BindMount, ...]]:
    """The hot file over ``public/hot`` of each app container (nginx shares its volume)."""
    mount = BindMount(
        host_path=project_root / HOT_FILE, container_path=HOT_FILE_IN_IMAGE, read_only=True
    )
    return {name: (mount,) for name in app_containers(tasks)}


def vite_bind_mounts(project_root: Path) -> dict[str, tuple[BindMount, ...]]:
    """The scripts and styles from the repository, over the assets stage's copy."""
    return {VITE_CONTAINER: app_source_mounts(project_root, VITE_SOURCE_DIRS, into=VITE_WORKDIR)}


def app_image_asset(tasks: AppTasks) -> DockerImageAsset:
    """The Docker image asset the app containers (the migration's image) are built from."""
    app_image = tasks.migration.container(tasks.watched_container).image
    for asset in tasks.image_assets:
        if asset.local_image == app_image:
            return asset
    raise ConfigError(
        f"the app image {app_image} is not a Docker image asset of the assembly, so "
        f"`invoke dev --hot` cannot build its {VITE_STAGE} stage; build the image with CDK"
    )


def vite_image(tasks: AppTasks) -> ImageBuild:
    """The assets stage of the app image: the same Dockerfile, context and build args."""
    asset = app_image_asset(tasks)
    return ImageBuild(
        tag=f"{asset.local_image}-{VITE_STAGE}",
        context=asset.directory,
        dockerfile=asset.dockerfile,
        target=VITE_STAGE,
        build_args=asset.build_args,
    )


def vite_task_definition(tasks: AppTasks, *, port: int) -> TaskDefinition:
    """Vite's dev server as a one-container task. It listens on ``port`` in its namespace and
    the holder publishes that same port on loopback, so the URLs Vite hands the browser
    (its client's WebSocket included) are the ones the browser can reach."""
    probe = (
        f"node -e \"fetch('http://127.0.0.1:{port}/@vite/client')"
        '.then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"'
    )
    server = ContainerSpec(
        name=VITE_CONTAINER,
        image=vite_image(tasks).tag,
        # All interfaces of its own namespace: the published port reaches it there.
        command=(
            "node_modules/.bin/vite",
            "--host",
            "0.0.0.0",  # noqa: S104
            "--port",
            str(port),
            "--strictPort",
        ),
        working_directory=VITE_WORKDIR,
        environment={VITE_URL_VARIABLE: hot_url(port), **VITE_WATCH_ENVIRONMENT},
        port_mappings=(PortMapping(container_port=port),),
        health_check=HealthCheck(command=("CMD-SHELL", probe), interval_seconds=10, retries=3),
        stop_timeout_seconds=2,
    )
    return TaskDefinition(
        logical_id="ViteDevServer",
        family=VITE_CONTAINER,
        network_mode="awsvpc",
        cpu_units=None,
        memory_mib=None,
        containers=(server,),
    )
