"""The deploy flow's backend for ``--env local``: the local runtime plays ECS.

"Deploying" the migration stack builds its images and prepares the backing services;
the migration task runs on Docker; "deploying" the service stack is a rolling
replacement behind the local load balancer: the new task starts and turns healthy,
traffic moves to it, and only then is the old task stopped (minimumHealthyPercent 100).
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import docker

from parity.assembly.apptasks import AppTasks, build_app_images, load_app_tasks, stack_names
from parity.commands.dev import LOCAL_DEPLOY_SCOPE as LOCAL_SCOPE
from parity.commands.dev import local_context, published_container_port
from parity.config.settings import HarnessSettings
from parity.deploy.flow import (
    ContainerResult,
    LogSink,
    MigrationOutcome,
    MigrationRun,
    MigrationTask,
)
from parity.engine.baseimage import ensure_base_image
from parity.engine.daemon import ensure_engine
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, TASK_LABEL
from parity.errors import DeployError, HarnessError
from parity.runtime.loadbalancer import LocalLoadBalancer, holder_address
from parity.runtime.localrun import (
    LocalContext,
    ResolvedSecrets,
    ensure_app_database,
    placement,
    run_id_for,
    seed_and_resolve,
    start_service,
)
from parity.runtime.task import LocalTask, TaskTimeout
from parity.services.emulator import Emulator, EmulatorKind, start_emulator

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
    host_port: int = 8080
    emulator_kind: EmulatorKind = EmulatorKind.MOTO
    emulator_port: int = 4566
    client: docker.DockerClient = field(init=False)
    _tasks: AppTasks | None = field(default=None, init=False)
    _context: LocalContext | None = field(default=None, init=False)
    _secrets: ResolvedSecrets | None = field(default=None, init=False)
    _migrations: dict[str, LocalTask] = field(default_factory=dict, init=False)
    _emulator: Emulator | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.client = ensure_engine()

    @property
    def prefix(self) -> str:
        return f"parity-{LOCAL_SCOPE}-{run_id_for(self.project_root)}"

    @property
    def balancer(self) -> LocalLoadBalancer:
        context = self.context
        return LocalLoadBalancer(
            self.client,
            name=f"{self.prefix}-alb",
            network=context.network,
            labels=context.labels,
            host_port=self.host_port,
        )

    @property
    def context(self) -> LocalContext:
        if self._context is None:
            raise HarnessError("the local migration stack must be deployed first")
        return self._context

    @property
    def tasks(self) -> AppTasks:
        if self._tasks is None:
            raise HarnessError("the local migration stack must be deployed first")
        return self._tasks

    # -- DeployBackend -------------------------------------------------------------------

    def ensure_idle(self) -> None:
        """The flow's file lock already allows one deploy per environment on this machine."""

    def deploy_stack(self, stack_name: str) -> None:
        migration_stack, service_stack = stack_names("local")
        if stack_name == migration_stack:
            self._prepare()
        elif stack_name == service_stack:
            self._replace_service()
        else:
            raise DeployError(f"the local backend does not deploy {stack_name}")

    def migration_task(self) -> MigrationTask:
        if self._tasks is None:
            self._prepare()
        return MigrationTask(
            task_definition=task_definition_id(self.tasks),
            watched_container=self.tasks.watched_container,
        )

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        name = f"{self.prefix}-migration-{client_token[:8]}"
        if name not in self._migrations:
            local = LocalTask(
                self.client,
                self.tasks.migration,
                placement(self.context, name),
                secrets=self._resolved().migration,
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
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    # -- steps -------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Images, emulator, secrets and MySQL: what the migration stack's deploy provides."""
        assembly_dir = self.project_root / "cdk.out"
        ensure_base_image(self.client)
        tasks = load_app_tasks(assembly_dir, env="local")
        certificates = self.settings.certificates()
        build_app_images(self.client, tasks, certificates=certificates)
        if self._emulator is None:
            self._emulator = start_emulator(
                self.emulator_kind, region=tasks.region, port=self.emulator_port
            )
        context = local_context(self.client, self.project_root, self._emulator, scope=LOCAL_SCOPE)
        secrets = seed_and_resolve(context, tasks)
        ensure_app_database(
            context,
            tasks,
            secrets,
            requested_image=self.settings.db_image,
            resources=self.project_root / "resources",
            certificates=certificates,
            host_port=None,
        )
        self._tasks, self._context, self._secrets = tasks, context, secrets
        self.balancer.ensure_running(certificates)

    def _resolved(self) -> ResolvedSecrets:
        if self._secrets is None:
            raise HarnessError("the local migration stack must be deployed first")
        return self._secrets

    def _replace_service(self) -> None:
        """Start the new task, move traffic once it is healthy, then stop the old ones."""
        old_tasks = self._service_task_names()
        service_port = published_container_port(self.tasks)
        new = start_service(
            self.context,
            self.tasks,
            self._resolved(),
            task_name=f"{self.prefix}-service-{secrets.token_hex(3)}",
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
        labels = [f"{SCOPE_LABEL}={LOCAL_SCOPE}", f"{RUN_LABEL}={self.context.run_id}"]
        names = {
            c.labels.get(TASK_LABEL, "")
            for c in self.client.containers.list(all=True, filters={"label": labels})
        }
        return sorted(name for name in names if f"{self.prefix}-service-" in name)

    def _remove_service_task(self, task_name: str) -> None:
        for container in self.client.containers.list(
            all=True, filters={"label": [f"{TASK_LABEL}={task_name}"]}
        ):
            with contextlib.suppress(docker.errors.NotFound):
                container.stop(timeout=30)
                container.remove(force=True, v=True)

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
