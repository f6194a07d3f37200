"""The local overrides the runtime applies: the DB host, the user's declared env values, dev
mode's source mounts, and with ``--hot`` Vite's dev server.

The local runtime, the compose export and ``invoke parity``'s report (``parity.commands.report``)
all take them from here, so what the report lists is what the runs do.
"""

from __future__ import annotations

from pathlib import Path

from parity.assembly.apptasks import AppTasks
from parity.assembly.cloud import DockerImageAsset
from parity.assembly.taskdef import ContainerSpec, HealthCheck, PortMapping, TaskDefinition
from parity.config.harness import DevConfig, HotConfig, SourceMount
from parity.engine.images import ImageBuild
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.runtime.task import BindMount

DEPLOYED_DATABASE = "Aurora MySQL 3 (MySQL 8.0 compatible)"
MIGRATION = "migration"
# Dev mode --hot: the one-container task of Vite's dev server.
VITE_CONTAINER = "vite"
# The hot file the app containers get, holding the dev server's URL. Gitignored, written per
# run.
HOT_FILE = Path(".local") / "hot"
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
    mounts = source_bind_mounts(project_root, dev.source_mounts)
    return {name: mounts for names in app_containers(tasks).values() for name in names}


def source_bind_mounts(
    project_root: Path, mounts: tuple[SourceMount, ...]
) -> tuple[BindMount, ...]:
    """Read-only mounts of the configured source folders that exist."""
    return tuple(
        BindMount(
            host_path=project_root / mount.host, container_path=mount.container, read_only=True
        )
        for mount in mounts
        if (project_root / mount.host).is_dir()
    )


def dev_mode_bind_mounts(
    project_root: Path, tasks: AppTasks, dev: DevConfig, *, hot: HotConfig | None
) -> dict[str, tuple[BindMount, ...]]:
    """The service tasks' dev-mode mounts: the source, and with ``hot`` the hot file."""
    mounts = service_bind_mounts(project_root, tasks, dev)
    if hot is not None:
        for name, hot_mounts in hot_file_mounts(project_root, tasks, hot).items():
            mounts[name] = (*mounts.get(name, ()), *hot_mounts)
    return mounts


# -- dev mode --hot: Vite's dev server ------------------------------------------------------


def hot_url(port: int) -> str:
    """Where the browser reaches the dev server: the loopback port the holder publishes."""
    return f"http://{LOOPBACK_ADDRESS}:{port}"


def hot_file_mounts(
    project_root: Path, tasks: AppTasks, hot: HotConfig
) -> dict[str, tuple[BindMount, ...]]:
    """The hot file over [dev.hot]'s ``hot_file`` of every container running the app image,
    in every service (a container sharing its volume sees it there too)."""
    mount = BindMount(
        host_path=project_root / HOT_FILE, container_path=hot.hot_file, read_only=True
    )
    return {name: (mount,) for names in app_containers(tasks).values() for name in names}


def vite_bind_mounts(project_root: Path, hot: HotConfig) -> dict[str, tuple[BindMount, ...]]:
    """The scripts and styles from the repository, over the assets stage's copy."""
    return {VITE_CONTAINER: source_bind_mounts(project_root, hot.source_mounts)}


def app_image_asset(tasks: AppTasks, hot: HotConfig) -> DockerImageAsset:
    """The Docker image asset the app containers (the migration's image) are built from."""
    for asset in tasks.image_assets:
        if asset.local_image == tasks.app_image:
            return asset
    raise ConfigError(
        f"the app image {tasks.app_image} is not a Docker image asset of the assembly, so "
        f"`invoke dev --hot` cannot build its {hot.stage} stage; build the image with CDK"
    )


def vite_image(tasks: AppTasks, hot: HotConfig) -> ImageBuild:
    """The assets stage of the app image: the same Dockerfile, context and build args."""
    asset = app_image_asset(tasks, hot)
    return ImageBuild(
        tag=f"{asset.local_image}-{hot.stage}",
        context=asset.directory,
        dockerfile=asset.dockerfile,
        target=hot.stage,
        build_args=asset.build_args,
    )


def vite_task_definition(tasks: AppTasks, hot: HotConfig, *, port: int) -> TaskDefinition:
    """Vite's dev server as a one-container task. It listens on ``port`` in its namespace and
    the holder publishes that same port on loopback, so the URLs Vite hands the browser
    (its client's WebSocket included) are the ones the browser can reach."""
    probe = (
        f"node -e \"fetch('http://127.0.0.1:{port}/@vite/client')"
        '.then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"'
    )
    server = ContainerSpec(
        name=VITE_CONTAINER,
        image=vite_image(tasks, hot).tag,
        # All interfaces of its own namespace: the published port reaches it there.
        command=(
            "node_modules/.bin/vite",
            "--host",
            "0.0.0.0",  # noqa: S104
            "--port",
            str(port),
            "--strictPort",
        ),
        working_directory=hot.workdir,
        environment={**hot.environment, hot.url_variable: hot_url(port)},
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
