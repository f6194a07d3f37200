"""One bring-up for every local run: the assembly, the images, the emulator, the secrets, MySQL
and a local Redis for each ElastiCache Redis of the assembly.

``invoke dev``, ``invoke deploy --env local`` and the previous-release check all start the same
way, in this order; only the scope (which labels the resources carry) and the ports differ.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from parity.console import note, step
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import connect, ensure_engine
from parity.engine.labels import (
    CONTAINER_LABEL,
    RUN_LABEL,
    SCOPE_LABEL,
    TASK_LABEL,
    InvocationPool,
    Scope,
    remove_labelled,
    run_labels,
)
from parity.errors import CheckoutBusy
from parity.filelock import exclusive_lock
from parity.runtime.localrun import (
    LocalContext,
    ResolvedSecrets,
    build_app_images,
    data_volume_for,
    dev_values,
    ensure_app_caches,
    ensure_app_database,
    ensure_network,
    provisioned_secrets,
    run_id_for,
    seed_and_resolve,
)
from parity.runtime.task import HOLDER, SIDECAR
from parity.runtime.taskendpoints import ensure_endpoints_image
from parity.services.emulator import Emulator, start_emulator

# Gitignored: a checkout's local state.
LOCAL_STATE = Path(".local")
# The dev secret values the emulator is seeded with.
SECRETS_FILE = LOCAL_STATE / "secrets.json"
MIGRATION_TASK = "migration"
SERVICE_TASK = "service"
# A run the local scheduler started (parity.runtime.scheduler).
SCHEDULED_TASK = "scheduled"


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


def existing_app(project_root: Path, settings: HarnessSettings) -> BuiltApp:
    """The app as last synthesized (a synth only when there is no assembly yet), its images
    not built: for commands that need only the run's backing services or a running task."""
    assembly = assembly_dir(project_root)
    if not (assembly / "manifest.json").is_file():
        assembly = prepare_assembly(project_root)
    return BuiltApp(
        client=ensure_engine(),
        tasks=environment_tasks(project_root, LOCAL_ENVIRONMENT, assembly),
        certificates=settings.certificates(),
    )


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
        # Only dev runs keep their data; deploys and checks start from an empty database.
        db_volume=data_volume_for(run_id) if scope is Scope.DEV else None,
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
    tasks), and make sure the app's MySQL and a local Redis for each of its caches run and
    answer.

    When a step fails, the emulator this call started is stopped before the error surfaces.
    """
    with starting_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=scope,
        emulator=emulator,
        emulator_port=emulator_port,
        db_port=db_port,
        extra_tasks=extra_tasks,
    ) as run:
        return run


@contextmanager
def starting_up(
    built: BuiltApp,
    *,
    project_root: Path,
    settings: HarnessSettings,
    scope: Scope,
    emulator: EmulatorKind,
    emulator_port: int | None,
    db_port: int | None = None,
    extra_tasks: tuple[TaskDefinition, ...] = (),
    emulator_outlives_run: bool = False,
) -> Iterator[LocalRun]:
    """``bring_up``, with the wait for MySQL and Redis at the end of the block: the run is
    given to the block once every secret is resolved, while they still start, so what needs
    neither (provisioning tasks) goes on meanwhile. The block's end waits until both answer.
    The embedded emulator runs in a process of its own; with ``emulator_outlives_run`` it
    keeps running after this process (a detached dev run: ``Emulator.detach``).

    When the block or a step fails, the emulator is stopped and the threads that start
    MySQL and Redis have ended (nothing they create outlives a clean-up) before the error
    surfaces.
    """
    tasks = built.tasks
    with step(f"AWS emulator ({emulator.value})"):
        running = start_emulator(
            emulator,
            region=tasks.region,
            port=emulator_port,
            labels=run_labels(scope=scope, run_id=run_id_for(project_root)),
            process_state=project_root / LOCAL_STATE,
            outlives_run=emulator_outlives_run,
        )
    with InvocationPool(max_workers=3, thread_name_prefix="bring-up") as pool:
        try:
            context = dataclasses.replace(
                local_context(built.client, project_root, running, scope=scope),
                endpoints_image=ensure_endpoints_image(
                    built.client, certificates=built.certificates
                ),
            )
            values = dev_values(context, tasks, extra_tasks)
            # MySQL and Redis take their credentials from the same dev values (RDS and
            # ElastiCache own theirs in AWS); they start while the emulator is seeded.
            provisioned = provisioned_secrets(tasks, values)
            database = pool.submit(
                ensure_app_database,
                context,
                tasks,
                provisioned,
                requested_image=settings.db_image,
                certificates=built.certificates,
                host_port=db_port,
            )
            caches = pool.submit(
                ensure_app_caches, context, tasks, provisioned, certificates=built.certificates
            )
            # Seeded while the block provisions tasks: they read their values only to start.
            resolving = pool.submit(seed_and_resolve, context, tasks, extra_tasks, values)
            # MySQL and Redis start before the block asks Docker for anything: containers
            # started side by side wait on each other in the engine, and the DB is the
            # longest wait of a start-up.
            launched = [database.result(), *caches.result()]
            yield LocalRun(
                client=built.client,
                tasks=tasks,
                context=context,
                secrets=ResolvedSecrets.resolving(resolving),
                certificates=built.certificates,
            )
            resolving.result()
            for service in launched:
                service.ready()
        except BaseException:
            running.stop()
            raise


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


def task_key(task_name: str, *, scope: Scope, run_id: str) -> str:
    """What a task of one run is, from its name: ``…-service-webservice-ab12`` → webservice,
    ``…-scheduled-schedulerule-ab12`` → schedulerule, ``…-migration-ab12`` → migration."""
    kind = task_name.removeprefix(f"parity-{scope}-{run_id}-").rsplit("-", 1)[0]
    for prefix in (SERVICE_TASK, SCHEDULED_TASK):
        kind = kind.removeprefix(f"{prefix}-")
    return kind


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


# Held by every dev run and local deploy of a checkout, so one runs at a time (gitignored).
CHECKOUT_LOCK = LOCAL_STATE / "run.lock"
ORPHAN_POLL_S = 1.0


@contextmanager
def checkout_lock(project_root: Path) -> Iterator[Path]:
    """One dev run or local deploy per checkout at a time: a second one is refused at once,
    naming the run that holds the lock. The kernel drops it when that run dies."""
    path = project_root / CHECKOUT_LOCK
    with exclusive_lock(
        path,
        refused=lambda holder: CheckoutBusy(
            f"another local run of this checkout is running ({holder}); wait for it, stop "
            f"it, or work in another clone (lock: {path})"
        ),
    ) as held:
        yield held


def ports_published_by_checkout(client: docker.DockerClient, project_root: Path) -> set[int]:
    """The loopback ports this checkout's running containers publish: a re-run may reuse them,
    so they do not count as taken."""
    ports: set[int] = set()
    filters = {"label": [f"{RUN_LABEL}={run_id_for(project_root)}"], "status": "running"}
    for container in client.containers.list(filters=filters):
        for bindings in (container.ports or {}).values():
            ports.update(int(binding["HostPort"]) for binding in bindings or [])
    return ports


def remove_invocation_resources(
    project_root: Path, scopes: tuple[Scope, ...], *, invocation: str
) -> int:
    """Remove what the invocation created in ``scopes`` (by its invocation label), nothing a
    running environment of this checkout uses; nothing when the engine is gone (clean-up never
    starts one: a re-run removes what was left, by label)."""
    client = connect()
    if client is None:
        return 0
    return sum(
        remove_labelled(client, scope=scope, run_id=run_id_for(project_root), invocation=invocation)
        for scope in scopes
    )


def remove_stale_containers(client: docker.DockerClient, project_root: Path) -> int:
    """Remove the containers of this checkout's local runs that no longer run (a killed run,
    or an engine that stopped under one, left them); running ones stay."""
    return sum(
        remove_labelled(client, scope=scope, run_id=run_id_for(project_root), only_stopped=True)
        for scope in (Scope.DEV, Scope.LOCAL_DEPLOY)
    )


def settle_orphaned_migrations(
    client: docker.DockerClient, project_root: Path, *, timeout_s: float
) -> list[str]:
    """Before a new migration gate: a migration task of this checkout that still runs (its
    ``invoke`` was killed) is waited for, saying so, up to ``timeout_s``; then stopped and
    removed. Two migrations never run side by side. Returns the tasks found."""
    orphans = orphaned_migrations(client, project_root)
    for name in orphans:
        note(
            f"migration task {name} of an earlier run still runs (its invoke ended); "
            "waiting for it before a new migration starts"
        )
        started = time.monotonic()
        with step(f"waiting for migration task {name} (up to {timeout_s:.0f}s)") as progress:
            while orphaned_containers_running(client, name):
                elapsed = time.monotonic() - started
                if elapsed > timeout_s:
                    note(f"{name} still runs after {timeout_s:.0f}s: stopping it")
                    break
                progress(f"{elapsed:.0f}s")
                time.sleep(ORPHAN_POLL_S)
        remove_task(client, name)
    return orphans


def orphaned_migrations(client: docker.DockerClient, project_root: Path) -> list[str]:
    """This checkout's migration tasks (dev runs and local deploys) that have a container
    running."""
    labels = [f"{RUN_LABEL}={run_id_for(project_root)}"]
    running = client.containers.list(filters={"label": labels, "status": "running"})
    names = {container.labels.get(TASK_LABEL, "") for container in running}
    return sorted(
        name
        for name in names
        for scope in (Scope.DEV, Scope.LOCAL_DEPLOY)
        if name.startswith(f"parity-{scope}-{run_id_for(project_root)}-{MIGRATION_TASK}-")
    )


def orphaned_containers_running(client: docker.DockerClient, task_name: str) -> bool:
    """Whether a container of the task definition still runs: the holder and the endpoints
    sidecar are the harness's and run until the task is removed."""
    filters = {"label": [f"{TASK_LABEL}={task_name}"], "status": "running"}
    return any(
        container.labels.get(CONTAINER_LABEL) not in {HOLDER, SIDECAR}
        for container in client.containers.list(filters=filters)
    )
