"""The deploy flow's backend for ``--env local``: the local runtime plays ECS.

"Deploying" the migration stack builds its images and prepares the backing services;
the migration task runs on Docker; "deploying" the service stack is a rolling
replacement behind the local load balancer: the new task starts and turns healthy,
traffic moves to it, and only then is the old task stopped (minimumHealthyPercent 100).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import docker

from parity.assembly.apptasks import AppTasks, stack_names
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
    published_container_port,
    remove_task,
    service_task_names,
)
from parity.runtime.loadbalancer import LocalLoadBalancer, holder_address
from parity.runtime.localrun import LocalContext, placement, start_service
from parity.runtime.task import LocalTask, TaskTimeout
from parity.services.emulator import DEFAULT_PORT as DEFAULT_EMULATOR_PORT

HEALTH_PATH = "/healthz"
TARGET_TIMEOUT_S = 60.0


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
    emulator_port: int = DEFAULT_EMULATOR_PORT
    client: docker.DockerClient = field(init=False)
    _run: LocalRun | None = field(default=None, init=False)
    _migrations: dict[str, LocalTask] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.client = ensure_engine()

    @property
    def balancer(self) -> LocalLoadBalancer:
        context = self.context
        return LocalLoadBalancer(
            self.client,
            name=f"{context.network}-alb",
            network=context.network,
            labels=context.labels,
            host_port=self.host_port,
        )

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
        migration_stack, service_stack = stack_names(LOCAL_ENVIRONMENT)
        if stack_name == migration_stack:
            self._prepare()
        elif stack_name == service_stack:
            self._replace_service()
        else:
            raise DeployError(f"the local backend does not deploy {stack_name}")

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
            local = LocalTask(
                self.client,
                self.tasks.migration,
                placement(self.context, name),
                secrets=self.run.secrets.migration,
            )
            local.start()
            self._migrations[name] = local
        return MigrationRun(task_id=name, task=task)

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        local = self._migrations[run.task_id]
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
        local = self._migrations.pop(run.task_id, None)
        if local is not None:
            local.stop(reason=reason)
            local.remove()

    def wait_for_service(self, *, timeout_s: float) -> None:
        """The replacement already waited for health; confirm the listener serves it."""
        self.balancer.wait_until_served_by(
            self._current_target(), path=HEALTH_PATH, timeout_s=timeout_s
        )

    def close(self) -> None:
        if self._run is not None:
            self._run.emulator.stop()

    # -- steps -------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Images, emulator, secrets and MySQL: what the migration stack's deploy provides."""
        built = build_app(self.project_root, self.settings)
        self._run = bring_up(
            built,
            project_root=self.project_root,
            settings=self.settings,
            scope=Scope.LOCAL_DEPLOY,
            emulator=self.emulator_kind,
            emulator_port=self.emulator_port,
        )
        self.balancer.ensure_running(built.certificates)

    def _replace_service(self) -> None:
        """Start the new task, move traffic once it is healthy, then stop the old ones."""
        old_tasks = self._service_task_names()
        service_port = published_container_port(self.tasks)
        new = start_service(
            self.context,
            self.tasks,
            self.run.secrets,
            task_name=self.run.task_name(SERVICE_TASK, secrets.token_hex(3)),
            host_ports={},
        )
        target = holder_address(self.client, str(new.holder_id), self.context.network, service_port)
        previous = self._current_target_or_none()
        balancer = self.balancer
        try:
            balancer.route(target, backups=(previous,) if previous else ())
            balancer.wait_until_served_by(target, path=HEALTH_PATH, timeout_s=TARGET_TIMEOUT_S)
        except BaseException:
            if previous:
                balancer.route(previous)
            new.stop(reason="did not turn healthy behind the load balancer")
            new.remove()
            raise
        balancer.route(target)
        for name in old_tasks:
            self._remove_service_task(name)

    def _service_task_names(self) -> list[str]:
        return service_task_names(self.client, scope=self.context.scope, run_id=self.context.run_id)

    def _remove_service_task(self, task_name: str) -> None:
        remove_task(self.client, task_name)

    # The balancer's own upstream file says which task serves now, so a later deploy (a
    # new process) needs no state of its own.
    def _current_target_or_none(self) -> str | None:
        text = self.balancer.current_targets()
        for line in text.splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "server" and not words[1].startswith("127."):
                return words[1].rstrip(";")
        return None

    def _current_target(self) -> str:
        target = self._current_target_or_none()
        if target is None:
            raise DeployError("the local load balancer routes to no service task")
        return target
