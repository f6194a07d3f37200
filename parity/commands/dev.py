"""``invoke dev``, ``down`` and ``logs``: the app's own task definitions on this machine."""

from __future__ import annotations

import secrets as random_tokens
from dataclasses import dataclass
from pathlib import Path

import docker

from parity.assembly.apptasks import AppTasks, build_app_images, load_app_tasks
from parity.assembly.synth import assembly_dir, synth, synth_is_stale
from parity.config.settings import HarnessSettings
from parity.console import console, note, step
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_engine
from parity.engine.labels import (
    CONTAINER_LABEL,
    RUN_LABEL,
    SCOPE_LABEL,
    remove_labelled,
    run_labels,
)
from parity.errors import ConfigError
from parity.runtime.devsecrets import stored_values
from parity.runtime.localrun import (
    LocalContext,
    LogPrinter,
    ensure_app_database,
    ensure_network,
    run_id_for,
    run_migration,
    seed_and_resolve,
    service_bind_mounts,
    start_service,
)
from parity.runtime.overrides import source_mount_environment
from parity.runtime.task import LocalTask, redactor
from parity.services.emulator import Emulator, EmulatorKind, start_emulator

DEV_SCOPE = "dev"
LOCAL_DEPLOY_SCOPE = "local"  # parity.deploy.local
COMPAT_SCOPE = "compat"  # parity.verify.previous
LOCAL_ENV = "local"
SECRETS_FILE = Path(".local") / "secrets.json"


@dataclass(frozen=True, kw_only=True)
class DevOptions:
    port: int = 8080
    db_port: int | None = None
    detach: bool = False
    source_mounts: bool = False
    migration_timeout_s: float = 300.0
    emulator: EmulatorKind = EmulatorKind.MOTO
    emulator_port: int = 4566


@dataclass(frozen=True)
class DevSession:
    url: str
    service: LocalTask
    context: LocalContext


def prepare_assembly(project_root: Path, env: str) -> Path:
    """Synthesize when cdk/ (or another synth input) changed since the last synth."""
    if synth_is_stale(project_root, env=env):
        with step("cdk synth (inputs changed)"):
            synth(project_root=project_root, env=env)
    return assembly_dir(project_root)


def local_context(
    client: docker.DockerClient, project_root: Path, emulator: Emulator, *, scope: str
) -> LocalContext:
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


def start_dev(project_root: Path, options: DevOptions, settings: HarnessSettings) -> DevSession:
    """Build, start the backing services, run the migration gate, start the service."""
    assembly = prepare_assembly(project_root, LOCAL_ENV)
    client = ensure_engine()
    ensure_base_image(client)
    tasks = load_app_tasks(assembly, env=LOCAL_ENV)
    certificates = settings.certificates()
    build_app_images(client, tasks, certificates=certificates)
    service_port = published_container_port(tasks)
    with step(f"AWS emulator ({options.emulator.value})"):
        emulator = start_emulator(
            options.emulator,
            region=tasks.region,
            port=options.emulator_port,
            labels=run_labels(scope=DEV_SCOPE, run_id=run_id_for(project_root)),
        )
    context = local_context(client, project_root, emulator, scope=DEV_SCOPE)
    resolved = seed_and_resolve(context, tasks)
    ensure_app_database(
        context,
        tasks,
        resolved,
        requested_image=settings.db_image,
        resources=project_root / "resources",
        certificates=certificates,
        host_port=options.db_port,
    )
    prefix = f"parity-{DEV_SCOPE}-{context.run_id}"
    run_migration(
        context,
        tasks,
        resolved,
        task_name=f"{prefix}-migration-{random_tokens.token_hex(2)}",
        timeout_s=options.migration_timeout_s,
    )
    remove_service_tasks(client, context)
    service = start_service(
        context,
        tasks,
        resolved,
        task_name=f"{prefix}-service-{random_tokens.token_hex(2)}",
        host_ports={service_port: options.port or None},
        bind_mounts=service_bind_mounts(project_root, tasks) if options.source_mounts else None,
        added_environment=source_mount_environment(tasks) if options.source_mounts else None,
    )
    url = f"http://127.0.0.1:{service.host_port(service_port)}/"
    console.print(f"[bold green]ready:[/] {url}")
    return DevSession(url=url, service=service, context=context)


def published_container_port(tasks: AppTasks) -> int:
    """The service's one port mapping (nginx's), which the ALB target group would hit."""
    ports = [p.container_port for c in tasks.service.containers for p in c.port_mappings]
    if len(ports) != 1:
        raise ConfigError(
            f"the service task maps {len(ports)} ports; the local run publishes exactly one"
        )
    return ports[0]


def remove_service_tasks(client: docker.DockerClient, context: LocalContext) -> None:
    """Remove service tasks a previous dev run left (re-running dev is idempotent)."""
    for container in client.containers.list(
        all=True,
        filters={"label": [f"{SCOPE_LABEL}={context.scope}", f"{RUN_LABEL}={context.run_id}"]},
    ):
        if "-service-" in container.name:
            container.remove(force=True, v=True)


def dev(project_root: Path, options: DevOptions, settings: HarnessSettings) -> None:
    """``invoke dev``: run until Ctrl-C (or return once healthy with ``detach``).

    A failure on the way up removes everything this checkout's dev runs started.
    """
    try:
        session = start_dev(project_root, options, settings)
    except BaseException:
        down(project_root)
        raise
    if options.detach:
        session.context.emulator.stop()
        note("detached; `invoke logs` shows output, `invoke down` removes everything")
        return
    note("streaming logs; Ctrl-C stops and removes everything")
    session.service.follow_logs(LogPrinter())
    try:
        outcome = session.service.wait_until_stopped(timeout_s=None)
        console.print(f"[red]service task stopped:[/] {outcome.stop_reason}")
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        session.context.emulator.stop()
        down(project_root)


def down(project_root: Path) -> int:
    """Remove everything this checkout's dev runs and local deploys started, nothing else."""
    client = ensure_engine()
    with step("removing local containers, networks and volumes"):
        return sum(
            remove_labelled(client, scope=scope, run_id=run_id_for(project_root))
            for scope in (DEV_SCOPE, LOCAL_DEPLOY_SCOPE, COMPAT_SCOPE)
        )


def logs(project_root: Path, container: str | None, *, tail: int) -> None:
    client = ensure_engine()
    filters = [f"{SCOPE_LABEL}={DEV_SCOPE}", f"{RUN_LABEL}={run_id_for(project_root)}"]
    if container:
        filters.append(f"{CONTAINER_LABEL}={container}")
    found = client.containers.list(all=True, filters={"label": filters})
    if not found:
        raise ConfigError(
            f"no dev container{' named ' + container if container else ''} is running; "
            "start one with `invoke dev --detach`"
        )
    printer = LogPrinter()
    redact = redactor(stored_values(project_root / SECRETS_FILE))
    for item in found:
        name = item.labels.get(CONTAINER_LABEL, item.name)
        for line in item.logs(tail=tail).decode(errors="replace").splitlines():
            printer(name, redact(line))
