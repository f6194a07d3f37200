"""The deploy flow's backend for ``--env local``: the local runtime plays ECS.

"Deploying" the migration stack builds its images and prepares the backing services;
the migration task runs on Docker; "deploying" the service stack is a rolling
replacement behind the local load balancer: the new task starts and turns healthy,
traffic moves to it, and only then is the old task stopped (minimumHealthyPercent 100).
The environment's stacks without an ECS service (a scheduled task's rule) have no local
stand-in: "deploying" them does nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import docker

from parity.assembly.apptasks import AppTasks, ServiceSpec
from parity.config.flags import FREE_PORT
from parity.config.harness import load_config
from parity.config.settings import (
    DEFAULT_HTTP_PORT,
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
)
from parity.deploy.flow import (
    ContainerResult,
    LogSink,
    MigrationOutcome,
    MigrationRun,
    MigrationTask,
)
from parity.engine.daemon import ensure_engine
from parity.engine.labels import Scope
from parity.errors import DeployError, HarnessError
from parity.runtime.bringup import (
    MIGRATION_TASK,
    SERVICE_TASK,
    LocalRun,
    bring_up,
    build_app,
    remove_task,
    service_task_names,
    settle_orphaned_migrations,
)
from parity.runtime.loadbalancer import LocalLoadBalancer, holder_address
from parity.runtime.localrun import LocalContext, local_task, placement, start_service_task
from parity.runtime.services import TARGET_TIMEOUT_S, balancer_for, balancer_ports, task_count
from parity.runtime.task import LocalTask, TaskTimeout
from parity.verify.migrations.server import root_session

# How long a migration a killed run left may go on before this deploy stops it.
ORPHANED_MIGRATION_WAIT_S = 600.0


def task_definition_id(tasks: AppTasks) -> str:
    """Changes whenever the migration task definition (images included) changes."""
    digest = hashlib.sha256(repr(tasks.migration).encode()).hexdigest()[:12]
    return f"{tasks.migration.family or tasks.migration.logical_id}:{digest}"


@dataclass
class LocalBackend:
    project_root: Path
    settings: HarnessSettings
    host_port: int = DEFAULT_HTTP_PORT
    emulator_kind: EmulatorKind = EmulatorKind.MOTO
    emulator_port: int = FREE_PORT
    client: docker.DockerClient = field(init=False)
    _run: LocalRun | None = field(default=None, init=False)
    _migrations: dict[str, LocalTask] = field(default_factory=dict, init=False)
    # Per migration task: what the repository table held when it started (None: not read).
    _recorded_before: dict[str, frozenset[str] | None] = field(default_factory=dict, init=False)
    _following: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.client = ensure_engine()

    def balancer(self, service: ServiceSpec) -> LocalLoadBalancer:
        """The service's local load balancer, on the port `invoke dev` gives it (a free one
        keeps the port it was given first)."""
        ports = balancer_ports(
            self.tasks.services,
            first_port=self.host_port,
            configured=load_config(self.project_root).environment(LOCAL_ENVIRONMENT).service_ports,
        )
        return balancer_for(self.run, service, host_port=ports[service.key])

    @property
    def run(self) -> LocalRun:
        if self._run is None:
            raise HarnessError("the local migration stack must be deployed first")
        return self._run

    @property
    def context(self) -> LocalContext:
        return self.run.context

    @property
    def tasks(self) -> AppTasks:
        return self.run.tasks

    # -- DeployBackend -------------------------------------------------------------------

    def ensure_idle(self) -> None:
        """The flow's file lock already allows one deploy per environment on this machine."""

    def deploy_stack(self, stack_name: str) -> None:
        if self._run is None or stack_name == self.tasks.migration_stack:
            self._prepare()
        services = [s for s in self.tasks.services if s.stack == stack_name]
        if stack_name not in self.tasks.stacks:
            raise DeployError(
                f"the local backend does not deploy {stack_name}: not a stack of local"
            )
        for service in services:
            self._replace(service)

    def migration_task(self) -> MigrationTask:
        if self._run is None:
            self._prepare()
        return MigrationTask(
            task_definition=task_definition_id(self.tasks),
            watched_container=self.tasks.watched_container,
        )

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        name = self.run.task_name(MIGRATION_TASK, client_token[:8])
        if name not in self._migrations:
            # A migration a killed run left must end before this one starts.
            settle_orphaned_migrations(
                self.client, self.project_root, timeout_s=ORPHANED_MIGRATION_WAIT_S
            )
            local = LocalTask(
                self.client,
                self.tasks.migration,
                placement(self.context, self.tasks, name),
                secrets=self.run.secrets.of(self.tasks.migration),
            )
            self._recorded_before[name] = self._recorded_migrations()
            local.start()
            self._migrations[name] = local
        return MigrationRun(task_id=name, task=task)

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        local = self._migrations[run.task_id]
        if run.task_id not in self._following:
            self._following.add(run.task_id)
            local.follow_logs(on_log)
        try:
            outcome = local.wait_until_stopped(timeout_s)
        except TaskTimeout:
            return None
        local.join_logs()
        local.remove()
        return MigrationOutcome(
            containers={
                name: ContainerResult(
                    name=name,
                    exit_code=result.exit_code,
                    reason="OutOfMemoryError: container killed" if result.oom_killed else None,
                )
                for name, result in outcome.exits.items()
            },
            stop_reason=outcome.stop_reason,
        )

    def stop_migration(self, run: MigrationRun, *, reason: str) -> None:
        """Stop it; the task stays until wait_for_migration has read how it ended."""
        local = self._migrations.get(run.task_id)
        if local is not None:
            local.stop(reason=reason)

    def recorded_since_start(self, run: MigrationRun) -> tuple[str, ...] | None:
        before = self._recorded_before.get(run.task_id)
        now = self._recorded_migrations()
        if before is None or now is None:
            return None
        return tuple(sorted(now - before))

    def _recorded_migrations(self) -> frozenset[str] | None:
        """What the local MySQL's migrations table holds (fargate-parity.toml's
        migrations_check repository_table); None when the environment names no such table."""
        check = load_config(self.project_root).environment(LOCAL_ENVIRONMENT).migrations_check
        if check is None:
            return None
        with root_session(self.run) as (session, _):
            return frozenset(session.migrations_ran(table=check.repository_table))

    def wait_for_services(self, stack_name: str, *, timeout_s: float) -> None:
        """The replacements already waited for health; confirm each listener serves."""
        for service in self.tasks.services:
            if service.stack == stack_name and service.load_balancer is not None:
                balancer = self.balancer(service)
                balancer.wait_until_served_by(
                    *self._current_targets(balancer),
                    path=service.load_balancer.health_check_path,
                    timeout_s=timeout_s,
                )

    def close(self) -> None:
        if self._run is not None:
            self._run.emulator.stop()

    # -- steps -------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Images, emulator, secrets and MySQL: what the migration stack's deploy provides."""
        if self._run is not None:
            return
        built = build_app(self.project_root, self.settings)
        self._run = bring_up(
            built,
            project_root=self.project_root,
            settings=self.settings,
            scope=Scope.LOCAL_DEPLOY,
            emulator=self.emulator_kind,
            emulator_port=self.emulator_port,
        )
        for service in self.tasks.services:
            if service.load_balancer is not None:
                self.balancer(service).ensure_running(built.certificates)

    def _replace(self, service: ServiceSpec) -> None:
        """Start the new tasks; behind a load balancer, move traffic once they are healthy;
        only then stop the old ones (minimumHealthyPercent 100). An old task gets SIGTERM and
        its stopTimeout, so a job in flight can finish."""
        context = self.context
        old = service_task_names(
            self.client, scope=context.scope, run_id=context.run_id, service_key=service.key
        )
        count = task_count(
            service, load_config(self.project_root).environment(LOCAL_ENVIRONMENT).max_tasks
        )
        new = [
            start_service_task(
                local_task(
                    context,
                    self.tasks,
                    service.task,
                    self.run.secrets,
                    task_name=self.run.task_name(
                        f"{SERVICE_TASK}-{service.key}", secrets.token_hex(3)
                    ),
                ),
                key=service.key,
            )
            for _ in range(count)
        ]
        if service.load_balancer is not None:
            self._move_traffic(service, new)
        grace = max(c.stop_timeout_seconds for c in service.task.containers)
        for name in old:
            remove_task(self.client, name, stop_timeout_s=grace)

    def _move_traffic(self, service: ServiceSpec, new: list[LocalTask]) -> None:
        assert service.load_balancer is not None
        port = service.load_balancer.port
        targets = tuple(
            holder_address(self.client, str(task.holder_id), self.context.network, port)
            for task in new
        )
        balancer = self.balancer(service)
        previous = self._current_targets(balancer)
        try:
            balancer.route(*targets, backups=previous)
            balancer.wait_until_served_by(
                *targets, path=service.load_balancer.health_check_path, timeout_s=TARGET_TIMEOUT_S
            )
        except BaseException:
            if previous:
                balancer.route(*previous)
            for task in new:
                task.stop(reason="did not turn healthy behind the load balancer")
                task.remove()
            raise
        balancer.route(*targets)

    # The balancer's own upstream file says which tasks serve now, so a later deploy (a
    # new process) needs no state of its own.
    @staticmethod
    def _current_targets(balancer: LocalLoadBalancer) -> tuple[str, ...]:
        targets = []
        for line in balancer.current_targets().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "server" and not words[1].startswith("127."):
                targets.append(words[1].rstrip(";"))
        return tuple(targets)
