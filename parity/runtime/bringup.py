"""One bring-up for every local run: the assembly, the images, the emulator, the secrets, MySQL
and a local Redis for each ElastiCache Redis of the assembly.

``invoke dev``, ``invoke deploy --env local`` and the previous-release check all start the same
way, in this order; only the scope (which labels the resources carry) and the ports differ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import docker

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.assembly.synth import assembly_dir, synth, synth_is_stale
from parity.assembly.taskdef import TaskDefinition
from parity.config.settings import (
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    ExtraCertificates,
    HarnessSettings,
)
from parity.console import step
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_engine
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, TASK_LABEL, Scope, run_labels
from parity.runtime.localrun import (
    LocalContext,
    ResolvedSecrets,
    build_app_images,
    ensure_app_caches,
    ensure_app_database,
    ensure_network,
    run_id_for,
    seed_and_resolve,
)
from parity.runtime.taskendpoints import ensure_endpoints_image
from parity.services.emulator import Emulator, start_emulator

# Gitignored: the dev secret values the emulator is seeded with.
SECRETS_FILE = Path(".local") / "secrets.json"
MIGRATION_TASK = "migration"
SERVICE_TASK = "service"


@dataclass(frozen=True, kw_only=True)
class BuiltApp:
    """The local environment's task definitions, with their images built."""

    client: docker.DockerClient
    tasks: AppTasks
    certificates: ExtraCertificates


@dataclass(frozen=True, kw_only=True)
class LocalRun:
    """A brought-up local run: what the app's tasks need before the migration gate."""

    client: docker.DockerClient
    tasks: AppTasks
    context: LocalContext
    secrets: ResolvedSecrets
    certificates: ExtraCertificates

    @property
    def emulator(self) -> Emulator:
        return self.context.emulator

    def task_name(self, kind: str, suffix: str) -> str:
        """``parity-<scope>-<run id>-<kind>-<suffix>``: findable by prefix and by label."""
        return f"{self.context.network}-{kind}-{suffix}"


def prepare_assembly(project_root: Path, env: str = LOCAL_ENVIRONMENT) -> Path:
    """Synthesize when cdk/ (or another synth input) changed since the last synth."""
    if synth_is_stale(project_root, env=env):
        with step("cdk synth (inputs changed)"):
            synth(project_root=project_root, env=env)
    return assembly_dir(project_root)


def build_app(project_root: Path, settings: HarnessSettings) -> BuiltApp:
    """Synth if stale, then make sure the engine, the base image and the app's images exist."""
    assembly = prepare_assembly(project_root)
    client = ensure_engine()
    ensure_base_image(client)
    tasks = environment_tasks(project_root, LOCAL_ENVIRONMENT, assembly)
    certificates = settings.certificates()
    build_app_images(client, tasks, certificates=certificates)
    return BuiltApp(client=client, tasks=tasks, certificates=certificates)


def local_context(
    client: docker.DockerClient, project_root: Path, emulator: Emulator, *, scope: Scope
) -> LocalContext:
    """The run's network (created when missing) and the names its backing services get."""
    run_id = run_id_for(project_root)
    name = f"parity-{scope}-{run_id}"
    context = LocalContext(
        client=client,
        scope=scope,
        run_id=run_id,
        network=name,
        db_host=f"{name}-mysql",
        emulator=emulator,
        secrets_file=project_root / SECRETS_FILE,
    )
    ensure_network(client, context.network, context.labels)
    return context


def bring_up(
    built: BuiltApp,
    *,
    project_root: Path,
    settings: HarnessSettings,
    scope: Scope,
    emulator: EmulatorKind,
    emulator_port: int | None,
    db_port: int | None = None,
    extra_tasks: tuple[TaskDefinition, ...] = (),
) -> LocalRun:
    """Start the emulator, seed and resolve every secret (of ``extra_tasks`` too: one-off
    tasks), and make sure the app's MySQL and a local Redis for each of its caches run.

    When a step fails, the emulator this call started is stopped before the error surfaces.
    """
    tasks = built.tasks
    with step(f"AWS emulator ({emulator.value})"):
        running = start_emulator(
            emulator,
            region=tasks.region,
            port=emulator_port,
            labels=run_labels(scope=scope, run_id=run_id_for(project_root)),
        )
    try:
        context = dataclasses.replace(
            local_context(built.client, project_root, running, scope=scope),
            endpoints_image=ensure_endpoints_image(built.client, certificates=built.certificates),
        )
        secrets = seed_and_resolve(context, tasks, extra_tasks)
        ensure_app_database(
            context,
            tasks,
            secrets,
            requested_image=settings.db_image,
            certificates=built.certificates,
            host_port=db_port,
        )
        ensure_app_caches(context, tasks, secrets, certificates=built.certificates)
    except BaseException:
        running.stop()
        raise
    return LocalRun(
        client=built.client,
        tasks=tasks,
        context=context,
        secrets=secrets,
        certificates=built.certificates,
    )


def service_task_names(
    client: docker.DockerClient, *, scope: Scope, run_id: str, service_key: str = ""
) -> list[str]:
    """The service tasks of one run (of one service, given its key), found by label: the task
    label holds the task's name, ``parity-<scope>-<run id>-service-<key>-<suffix>``."""
    labels = [f"{SCOPE_LABEL}={scope}", f"{RUN_LABEL}={run_id}"]
    prefix = f"parity-{scope}-{run_id}-{SERVICE_TASK}-{service_key}"
    containers = client.containers.list(all=True, filters={"label": labels})
    names = {container.labels.get(TASK_LABEL, "") for container in containers}
    return sorted(name for name in names if name.startswith(prefix))


def remove_task(client: docker.DockerClient, task_name: str, *, stop_timeout_s: int = 30) -> None:
    """Stop (with the grace period) and remove every container of one task."""
    for container in client.containers.list(
        all=True, filters={"label": [f"{TASK_LABEL}={task_name}"]}
    ):
        try:
            container.stop(timeout=stop_timeout_s)
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass
