"""``invoke dev``, ``down`` and ``logs``: the app's own task definitions on this machine."""

from __future__ import annotations

import secrets as random_tokens
from dataclasses import dataclass
from pathlib import Path

from parity.config.harness import load_config
from parity.config.settings import (
    DEFAULT_HTTP_PORT,
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
)
from parity.console import console, note, step
from parity.engine.daemon import ensure_engine
from parity.engine.labels import (
    CONTAINER_LABEL,
    RUN_LABEL,
    SCOPE_LABEL,
    Scope,
    remove_labelled,
)
from parity.errors import ConfigError
from parity.runtime.bringup import (
    MIGRATION_TASK,
    SECRETS_FILE,
    LocalRun,
    bring_up,
    build_app,
    remove_task,
    service_task_names,
)
from parity.runtime.devsecrets import stored_values
from parity.runtime.localrun import LogPrinter, data_volume_for, run_id_for, run_migration
from parity.runtime.overrides import dev_mode_bind_mounts, source_mount_environment
from parity.runtime.services import RunningService, ServiceOptions, start_services
from parity.runtime.task import LocalTask, redactor, wait_for_any_stop
from parity.runtime.viteserver import start_vite_server
from parity.services.emulator import DEFAULT_PORT as DEFAULT_EMULATOR_PORT

# The CLI's defaults (tasks.py shows them in --help).
__all__ = ["DEFAULT_EMULATOR_PORT", "DEFAULT_HTTP_PORT"]
# Everything a checkout's local runs start; `invoke down` removes all of it.
LOCAL_SCOPES = (Scope.DEV, Scope.LOCAL_DEPLOY, Scope.COMPAT)


@dataclass(frozen=True, kw_only=True)
class DevOptions:
    port: int = DEFAULT_HTTP_PORT
    db_port: int | None = None
    detach: bool = False
    source_mounts: bool = False
    # Vite's dev server with hot module replacement (fargate-parity.toml's [dev.hot]); implies
    # source_mounts.
    hot: bool = False
    # Its loopback port (None: [dev.hot]'s; 0: a free one).
    vite_port: int | None = None
    migration_timeout_s: float = 300.0
    # None: PARITY_EMULATOR, else the embedded default.
    emulator: EmulatorKind | None = None
    emulator_port: int = DEFAULT_EMULATOR_PORT


@dataclass(frozen=True)
class DevSession:
    run: LocalRun
    services: tuple[RunningService, ...]
    # Vite's dev server (`--hot`).
    vite: LocalTask | None = None

    @property
    def url(self) -> str:
        """The first load-balanced service's URL (the app's front door)."""
        urls = [running.url for running in self.services if running.url]
        if not urls:
            raise ConfigError("no service of this app is behind a load balancer; it has no URL")
        return urls[0]

    def running(self, key: str) -> RunningService:
        for running in self.services:
            if running.service.key == key:
                return running
        raise ConfigError(
            f"no service {key!r} runs (services: {', '.join(s.service.key for s in self.services)})"
        )

    def tasks(self) -> list[LocalTask]:
        """Every task of the session: the services', and Vite's dev server."""
        tasks = [task for running in self.services for task in running.tasks]
        return tasks if self.vite is None else [*tasks, self.vite]


def start_dev(project_root: Path, options: DevOptions, settings: HarnessSettings) -> DevSession:
    """Build, start the backing services, run the migration gate, start every service."""
    config = load_config(project_root)
    hot = config.dev.require_hot() if options.hot else None
    built = build_app(project_root, settings)
    run = bring_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=Scope.DEV,
        emulator=options.emulator or settings.emulator,
        emulator_port=options.emulator_port,
        db_port=options.db_port,
    )
    tasks = run.tasks
    run_migration(
        run.context,
        tasks,
        run.secrets,
        task_name=run.task_name(MIGRATION_TASK, random_tokens.token_hex(2)),
        timeout_s=options.migration_timeout_s,
    )
    remove_service_tasks(run)
    # The hot file must exist before the service tasks mount it.
    vite = (
        start_vite_server(run, hot, project_root=project_root, port=options.vite_port)
        if hot is not None
        else None
    )
    dev_mode = options.source_mounts or hot is not None
    services = start_services(
        run,
        ServiceOptions(
            first_port=options.port,
            max_tasks=config.environment(LOCAL_ENVIRONMENT).max_tasks,
            bind_mounts=(
                dev_mode_bind_mounts(project_root, tasks, config.dev, hot=hot) if dev_mode else {}
            ),
            added_environment=(source_mount_environment(tasks, config.dev) if dev_mode else {}),
        ),
    )
    session = DevSession(run=run, services=services, vite=vite)
    if any(running.url for running in services):
        console.print(f"[bold green]ready:[/] {session.url}")
    else:
        console.print("[bold green]ready[/]")
    return session


def remove_service_tasks(run: LocalRun) -> None:
    """Remove service tasks a previous dev run left (re-running dev is idempotent)."""
    context = run.context
    for name in service_task_names(run.client, scope=context.scope, run_id=context.run_id):
        remove_task(run.client, name, stop_timeout_s=0)


def dev(project_root: Path, options: DevOptions, settings: HarnessSettings | None = None) -> None:
    """``invoke dev``: run until Ctrl-C (or return once healthy with ``detach``).

    A failure on the way up removes everything this checkout's dev runs started.
    """
    settings = settings or HarnessSettings.for_project(project_root)
    try:
        session = start_dev(project_root, options, settings)
    except BaseException:
        down(project_root)
        raise
    if options.detach:
        session.run.emulator.stop()
        note(
            "detached; `invoke logs` shows output, `invoke down` removes everything but the"
            " database's data"
        )
        return
    note("streaming logs; Ctrl-C stops and removes everything but the database's data")
    printer = LogPrinter()
    for task in session.tasks():
        task.follow_logs(printer)
    try:
        stopped, outcome = wait_for_any_stop(session.tasks())
        console.print(f"[red]task {stopped.name} stopped:[/] {outcome.stop_reason}")
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        session.run.emulator.stop()
        down(project_root)


def emulator_choice(flag: str) -> EmulatorKind | None:
    """``--emulator``'s value, or None when it was not given."""
    return EmulatorKind.parse(flag) if flag else None


def down(project_root: Path, *, volumes: bool = False) -> int:
    """Remove everything this checkout's dev runs and local deploys started, nothing else.
    The local database's data volume stays unless ``volumes`` says to remove it too."""
    client = ensure_engine()
    run_id = run_id_for(project_root)
    scopes: tuple[Scope, ...] = LOCAL_SCOPES
    if volumes:
        note(
            f"removing the local database's volume {data_volume_for(run_id)} too: its data is "
            "lost (`invoke db.snapshot` keeps a copy)"
        )
        scopes = (*LOCAL_SCOPES, Scope.DATA)
    with step("removing local containers, networks and volumes"):
        return sum(remove_labelled(client, scope=scope, run_id=run_id) for scope in scopes)


def logs(project_root: Path, container: str | None, *, tail: int) -> None:
    client = ensure_engine()
    filters = [f"{SCOPE_LABEL}={Scope.DEV}", f"{RUN_LABEL}={run_id_for(project_root)}"]
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
