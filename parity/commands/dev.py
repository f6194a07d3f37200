"""``invoke dev``, ``down`` and ``logs``: the app's own task definitions on this machine."""

from __future__ import annotations

import secrets as random_tokens
from dataclasses import dataclass, field
from pathlib import Path

import docker

from parity.config.flags import FREE_PORT, parse_optional_port, parse_port
from parity.config.harness import load_config
from parity.config.settings import (
    DEFAULT_HTTP_PORT,
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
)
from parity.console import console, note, step
from parity.engine.daemon import connect, engine_errors, ensure_engine
from parity.engine.labels import (
    CONTAINER_LABEL,
    RUN_LABEL,
    SCOPE_LABEL,
    TASK_LABEL,
    InvocationPool,
    Scope,
    new_invocation,
    remove_labelled,
)
from parity.engine.ports import claim_port
from parity.errors import ConfigError
from parity.runtime.bringup import (
    LOCAL_STATE,
    MIGRATION_TASK,
    SECRETS_FILE,
    LocalRun,
    build_app,
    checkout_lock,
    ports_published_by_checkout,
    remove_invocation_resources,
    remove_stale_containers,
    remove_task,
    service_task_names,
    settle_orphaned_migrations,
    starting_up,
    task_key,
)
from parity.runtime.devsecrets import read_dev_secrets, stored_values
from parity.runtime.localrun import (
    LogPrinter,
    data_volume_for,
    local_task,
    run_id_for,
    run_migration_task,
)
from parity.runtime.overrides import (
    VITE_CONTAINER,
    dev_mode_bind_mounts,
    source_mount_environment,
)
from parity.runtime.scheduler import LocalScheduler, plan_schedules
from parity.runtime.services import (
    RunningService,
    ServiceOptions,
    provision_services,
    start_services,
)
from parity.runtime.task import LocalTask, redactor, wait_for_any_stop
from parity.runtime.viteserver import start_vite_server
from parity.services.motoprocess import stop_recorded

# The CLI's defaults (tasks.py shows them in --help). The emulator takes a free port per run,
# so two clones' dev runs never collide on it.
DEFAULT_EMULATOR_PORT = FREE_PORT
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

    @classmethod
    def from_flags(
        cls,
        *,
        port: str,
        db_port: str = "",
        vite_port: str = "",
        emulator_port: str = str(DEFAULT_EMULATOR_PORT),
        detach: bool = False,
        source_mounts: bool = False,
        hot: bool = False,
        emulator: str = "",
    ) -> DevOptions:
        """The options from the flags as typed; a bad port is one ConfigError naming its flag."""
        return cls(
            port=parse_port(port, flag="--port"),
            db_port=parse_optional_port(db_port, flag="--db-port"),
            detach=detach,
            source_mounts=source_mounts,
            hot=hot,
            vite_port=parse_optional_port(vite_port, flag="--vite-port"),
            emulator=emulator_choice(emulator),
            emulator_port=parse_port(emulator_port, flag="--emulator-port"),
        )


@dataclass(frozen=True)
class DevSession:
    run: LocalRun
    services: tuple[RunningService, ...]
    # Vite's dev server (`--hot`).
    vite: LocalTask | None = None
    # The schedules' background threads, not started: they run while the process that starts
    # them does (`invoke dev` attached; a test).
    scheduler: LocalScheduler | None = None
    # Every line the session prints: the services', the scheduled runs', Vite's.
    printer: LogPrinter = field(default_factory=LogPrinter)

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
    """Build, start the backing services, run the migration gate, start every service.

    While MySQL and Redis start, the migration task and every service's tasks are
    provisioned (ECS's PROVISIONING: network namespace, endpoints, containers created); no
    container of a service starts before the migration exited 0.
    """
    config = load_config(project_root)
    local = config.environment(LOCAL_ENVIRONMENT)
    hot = config.dev.require_hot() if options.hot else None
    built = build_app(project_root, settings)
    # Before anything starts: an expression the local scheduler cannot follow fails here.
    schedules = plan_schedules(built.tasks, settings.schedule_override)
    dev_mode = options.source_mounts or hot is not None
    with starting_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=Scope.DEV,
        emulator=options.emulator or settings.emulator,
        emulator_port=options.emulator_port,
        db_port=options.db_port,
        extra_tasks=built.tasks.scheduled_task_definitions,
        emulator_outlives_run=options.detach,
    ) as run:
        tasks = run.tasks
        migration = local_task(
            run.context,
            tasks,
            tasks.migration,
            run.secrets,
            task_name=run.task_name(MIGRATION_TASK, random_tokens.token_hex(2)),
        )
        with InvocationPool(max_workers=1, thread_name_prefix="migration") as pool:
            provisioning = pool.submit(migration.provision)
            # The hot file must exist before the service tasks mount it.
            vite = (
                start_vite_server(run, hot, project_root=project_root, port=options.vite_port)
                if hot is not None
                else None
            )
            provisioned = provision_services(
                run,
                ServiceOptions(
                    first_port=options.port,
                    ports=local.service_ports,
                    max_tasks=local.max_tasks,
                    bind_mounts=(
                        dev_mode_bind_mounts(project_root, tasks, config.dev, hot=hot)
                        if dev_mode
                        else {}
                    ),
                    added_environment=(
                        source_mount_environment(tasks, config.dev) if dev_mode else {}
                    ),
                ),
            )
            provisioning.result()
    run_migration_task(
        migration, watched=tasks.watched_container, timeout_s=options.migration_timeout_s
    )
    remove_service_tasks(run, keep=provisioned)
    services = start_services(run, provisioned)
    printer = LogPrinter()
    scheduler = LocalScheduler(run=run, plans=schedules, log_sink=printer) if schedules else None
    session = DevSession(
        run=run, services=services, vite=vite, scheduler=scheduler, printer=printer
    )
    if any(running.url for running in services):
        console.print(f"[bold green]ready:[/] {session.url}")
    else:
        console.print("[bold green]ready[/]")
    return session


def remove_service_tasks(run: LocalRun, *, keep: tuple[RunningService, ...]) -> None:
    """Remove the service tasks a previous dev run left (re-running dev is idempotent), not
    the ones this run provisioned (``keep``)."""
    context = run.context
    ours = {task.name for running in keep for task in running.tasks}
    for name in service_task_names(run.client, scope=context.scope, run_id=context.run_id):
        if name not in ours:
            remove_task(run.client, name, stop_timeout_s=0)


def dev(project_root: Path, options: DevOptions, settings: HarnessSettings | None = None) -> None:
    """``invoke dev``: run until Ctrl-C (or return once healthy with ``detach``).

    One dev run (or local deploy) per checkout at a time. Input is checked before anything
    starts; a failure on the way up removes only what this run created, never the checkout's
    running environment.
    """
    settings = settings or HarnessSettings.for_project(project_root)
    with checkout_lock(project_root), new_invocation() as invocation:
        client = ensure_engine()
        with engine_errors():
            check_inputs(client, project_root, options, settings)
            prepare_checkout(client, project_root, timeout_s=options.migration_timeout_s)
            try:
                session = start_dev(project_root, options, settings)
            except BaseException:
                # What this run started: its containers, and its emulator when it was to
                # outlive the run (a tied one ends with this process).
                stop_recorded(project_root / LOCAL_STATE)
                remove_invocation_resources(project_root, LOCAL_SCOPES, invocation=invocation)
                raise
            if options.detach:
                if session.scheduler is not None:
                    note_scheduler_not_detached(session.scheduler)
                session.run.emulator.detach()
                note(
                    "detached; `invoke logs` shows output, `invoke down` removes everything but"
                    " the database's data"
                )
                return
            follow_session(project_root, session)


def check_inputs(
    client: docker.DockerClient, project_root: Path, options: DevOptions, settings: HarnessSettings
) -> None:
    """What the user gave (fargate-parity.toml, the dev secrets file, the ports), checked
    before any container starts: each problem is one line. A port this checkout's running
    environment publishes is not taken: the re-run reuses it."""
    config = load_config(project_root)
    if options.hot:
        config.dev.require_hot()
    read_dev_secrets(project_root / SECRETS_FILE)
    ours = ports_published_by_checkout(client, project_root)
    emulator = options.emulator or settings.emulator
    wanted = [
        ("--port", options.port, "the local load balancer"),
        ("--db-port", options.db_port, "the local MySQL"),
        ("--vite-port", options.vite_port, "Vite's dev server"),
        (
            "--emulator-port",
            options.emulator_port if emulator is not EmulatorKind.EXTERNAL else None,
            "the AWS emulator",
        ),
    ]
    for flag, port, purpose in wanted:
        if port and port not in ours:
            claim_port(port, purpose=f"{purpose} ({flag} {port})")


def prepare_checkout(client: docker.DockerClient, project_root: Path, *, timeout_s: float) -> None:
    """What earlier runs of this checkout left: containers that no longer run (a killed run, a
    stopped engine) go, and so does a detached run's emulator (this run starts its own); a
    migration still running is waited for, then removed."""
    stop_recorded(project_root / LOCAL_STATE)
    stale = remove_stale_containers(client, project_root)
    if stale:
        note(f"removed {stale} stopped container(s) an earlier run of this checkout left")
    settle_orphaned_migrations(client, project_root, timeout_s=timeout_s)


def follow_session(project_root: Path, session: DevSession) -> None:
    """Stream the session's logs until a task stops or Ctrl-C; then remove the checkout's
    environment (when the engine still answers: clean-up never starts one)."""
    note("streaming logs; Ctrl-C stops and removes everything but the database's data")
    follow_session_logs(session)
    try:
        if session.scheduler is not None:
            session.scheduler.start()
        stopped, outcome = wait_for_any_stop(session.tasks())
        console.print(f"[red]task {stopped.name} stopped:[/] {outcome.stop_reason}")
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        if session.scheduler is not None:
            session.scheduler.stop()
        session.run.emulator.stop()
        client = connect()
        if client is not None:
            remove_checkout_resources(client, project_root)


def note_scheduler_not_detached(scheduler: LocalScheduler) -> None:
    """Detached mode: the scheduler would be this process's threads, which end with it."""
    keys = ", ".join(plan.key for plan in scheduler.plans)
    note(
        f"the local scheduler ({keys}) runs only in attached `invoke dev`; detached, run a"
        " scheduled task once with `invoke run-task NAME` (its family or container)"
    )


def follow_session_logs(session: DevSession) -> None:
    """Every service task's and Vite's output, each line prefixed ``task/container``."""
    for running in session.services:
        for task in running.tasks:
            task.follow_logs(session.printer.for_task(running.service.key))
    if session.vite is not None:
        session.vite.follow_logs(session.printer.for_task(VITE_CONTAINER))


def emulator_choice(flag: str) -> EmulatorKind | None:
    """``--emulator``'s value, or None when it was not given."""
    return EmulatorKind.parse(flag) if flag else None


def down(project_root: Path, *, volumes: bool = False) -> int:
    """Remove everything this checkout's dev runs and local deploys started, nothing else.
    The local database's data volume stays unless ``volumes`` says to remove it too."""
    return remove_checkout_resources(ensure_engine(), project_root, volumes=volumes)


def remove_checkout_resources(
    client: docker.DockerClient, project_root: Path, *, volumes: bool = False
) -> int:
    run_id = run_id_for(project_root)
    scopes: tuple[Scope, ...] = LOCAL_SCOPES
    if volumes:
        note(
            f"removing the local database's volume {data_volume_for(run_id)} too: its data is "
            "lost (`invoke db.snapshot` keeps a copy)"
        )
        scopes = (*LOCAL_SCOPES, Scope.DATA)
    with step("removing local containers, networks and volumes"):
        stop_recorded(project_root / LOCAL_STATE)
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
    run_id = run_id_for(project_root)
    for item in found:
        name = item.labels.get(CONTAINER_LABEL, item.name)
        task = task_key(item.labels.get(TASK_LABEL, ""), scope=Scope.DEV, run_id=run_id)
        for line in item.logs(tail=tail).decode(errors="replace").splitlines():
            printer(f"{task}/{name}" if task else name, redact(line))
