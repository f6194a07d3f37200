"""Run one ECS task definition on Docker with Fargate's semantics.

* awsvpc: a holder container owns the task's network namespace and its published
  ports; every container joins it, so they reach each other on 127.0.0.1.
* ``dependsOn`` START / COMPLETE / SUCCESS / HEALTHY gate each container's start.
* ``essential``: when an essential container stops, the task stops.
* ``healthCheck`` maps to Docker's health check with the same timings.
* ``volumesFrom`` (read-only too) and ``mountPoints`` on task-scoped volumes.
* secrets are written to the container's stdin and exported by a small wrapper, so
  their values never land in Docker's container config on disk.
* task cpu and memory become container limits (a container's own limit wins).
* stopping sends SIGTERM, then SIGKILL after the container's ``stopTimeout`` (30 s unless
  set), whatever the image's ``STOPSIGNAL``: the ECS agent ignores it too.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import docker
from docker.errors import APIError, NotFound
from docker.types import Mount

from parity.assembly.taskdef import (
    ContainerDependency,
    ContainerSpec,
    DependencyCondition,
    HealthCheck,
    TaskDefinition,
)
from parity.engine.baseimage import BASE_IMAGE
from parity.engine.labels import CONTAINER_LABEL, TASK_LABEL
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.engine.secretinject import start_with_secrets, wrapped_argv, wrapper_mount
from parity.errors import HarnessError, NotReady
from parity.runtime.depgraph import StartPlan, plan_start
from parity.secretvalue import SecretValue

HOLDER = "holder"
SIDECAR = "endpoints"
NANOSECONDS = 1_000_000_000
DEFAULT_START_TIMEOUT_S = 180.0
POLL_INTERVAL_S = 0.1
FAST_PROBE_INTERVAL_S = 0.2
MIB = 1024 * 1024
# What the ECS agent sends on every stop (a deployment, a scale-in, StopTask, the task ending).
ECS_STOP_SIGNAL = "SIGTERM"

LogSink = Callable[[str, str], None]


class TaskFailed(HarnessError):
    """The task stopped, or could not start, before reaching the state asked for."""


class TaskTimeout(HarnessError):
    """The task did not reach the state asked for in time."""


@dataclass(frozen=True, kw_only=True)
class BindMount:
    """A host directory mounted into a container: an explicit local override (dev mode)."""

    host_path: Path
    container_path: str
    read_only: bool = False


class TaskSidecar(Protocol):
    """Something Fargate gives every task beside its containers (the metadata and
    credentials endpoints): started in the holder's namespace before any container."""

    def environment(self, task: TaskDefinition, task_name: str, container: str) -> dict[str, str]:
        """Env it gives ``container`` (the task definition's own values win)."""
        ...

    def start(
        self, task: TaskDefinition, task_name: str, holder_id: str, labels: Mapping[str, str]
    ) -> None: ...

    def publish(self, container_ids: Mapping[str, str], holder_id: str) -> None:
        """Called once every container is created, before any starts."""
        ...

    def remove(self) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where one task runs locally, and the named local overrides that apply to it."""

    task_name: str
    network: str
    labels: Mapping[str, str]
    # containerPort → loopback host port (None lets Docker pick a free one)
    host_ports: Mapping[int, int | None] = field(default_factory=dict)
    # env var → local value, applied only where the task definition sets that var
    environment_overrides: Mapping[str, str] = field(default_factory=dict)
    bind_mounts: Mapping[str, tuple[BindMount, ...]] = field(default_factory=dict)
    # container → env vars the task definition does not set (dev mode only)
    added_environment: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # What Fargate itself sets in every container (the task definition's own values win).
    platform_environment: Mapping[str, str] = field(default_factory=dict)
    # What Fargate serves the task beside its containers; one per task.
    sidecar: TaskSidecar | None = None


@dataclass(frozen=True)
class ContainerExit:
    name: str
    exit_code: int | None
    essential: bool
    oom_killed: bool = False
    started: bool = True


@dataclass(frozen=True)
class TaskOutcome:
    stop_reason: str
    exits: Mapping[str, ContainerExit]

    def exit_code(self, container: str) -> int | None:
        return self.exits[container].exit_code


def wait_for_any_stop(tasks: list[LocalTask]) -> tuple[LocalTask, TaskOutcome]:
    """Block until one of ``tasks`` stops (an essential container exited); that task, stopped."""
    while True:
        for task in tasks:
            outcome = task.stop_if_an_essential_container_exited()
            if outcome is not None:
                return task, outcome
        time.sleep(POLL_INTERVAL_S)


def effective_argv(
    spec: ContainerSpec, image_config: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(entrypoint, command) as Docker would run them: an entryPoint override drops CMD."""
    entrypoint = list(spec.entry_point) if spec.entry_point is not None else None
    if spec.command is not None:
        command = list(spec.command)
    elif entrypoint is not None:
        command = []
    else:
        command = list(image_config.get("Cmd") or [])
    if entrypoint is None:
        entrypoint = list(image_config.get("Entrypoint") or [])
    return entrypoint, command


def docker_healthcheck(check: HealthCheck) -> dict[str, Any]:
    return {
        "test": list(check.command),
        "interval": check.interval_seconds * NANOSECONDS,
        "timeout": check.timeout_seconds * NANOSECONDS,
        "retries": check.retries,
        "start_period": check.start_period_seconds * NANOSECONDS,
    }


class LocalTask:
    """One running (or finished) task. Use ``start``, then wait, then ``remove``."""

    def __init__(
        self,
        client: docker.DockerClient,
        task: TaskDefinition,
        placement: Placement,
        *,
        secrets: Mapping[str, Mapping[str, SecretValue]],
    ) -> None:
        self.client = client
        self.task = task
        self.placement = placement
        self.secrets = secrets
        self.plan: StartPlan = plan_start(task)
        self.container_ids: dict[str, str] = {}
        self.holder_id: str | None = None
        self.volume_names: list[str] = []
        self._log_threads: list[threading.Thread] = []
        self._stop_reason: str | None = None
        self._probed_healthy: set[str] = set()
        self._last_probe: dict[str, float] = {}
        self._provisioned = False

    # -- start -------------------------------------------------------------------------

    def provision(self) -> None:
        """ECS's PROVISIONING: the holder (the task's network namespace, with its ports), the
        endpoints sidecar, the task volumes and every container, created and none started.
        Nothing of the task definition runs yet; ``start`` starts it. Done once.

        On any failure everything this task created is removed before the error surfaces.
        """
        if self._provisioned:
            return
        for container_port, host_port in self.placement.host_ports.items():
            if host_port is not None:
                claim_port(host_port, purpose=f"port {container_port} of {self.name}")
        try:
            self._create_holder()
            sidecar = self.placement.sidecar
            if sidecar is not None and self.holder_id is not None:
                sidecar.start(self.task, self.name, self.holder_id, self._labels(SIDECAR))
            self._create_volumes()
            for name in self.plan.creation_order:
                self.container_ids[name] = self._create_container(self.task.container(name))
            if sidecar is not None and self.holder_id is not None:
                sidecar.publish(self.container_ids, self.holder_id)
        except BaseException:
            self.remove()
            raise
        self._provisioned = True

    def start(self) -> None:
        """Provision the task (unless done), then start its containers as dependsOn allows.

        On any failure everything this task created is removed before the error surfaces.
        """
        self.provision()
        try:
            for wave in self.plan.waves:
                for name in wave:
                    self._wait_for_dependencies(name)
                    self._start_container(self.task.container(name))
        except BaseException:
            self.remove()
            raise

    @property
    def name(self) -> str:
        return self.placement.task_name

    def _labels(self, container: str) -> dict[str, str]:
        return {**self.placement.labels, TASK_LABEL: self.name, CONTAINER_LABEL: container}

    def _create_holder(self) -> None:
        ports = {
            f"{port}/tcp": (LOOPBACK_ADDRESS, host_port)
            for port, host_port in self.placement.host_ports.items()
        }
        holder = self.client.containers.run(
            BASE_IMAGE,
            ["sleep", "infinity"],
            name=f"{self.name}-{HOLDER}",
            detach=True,
            init=True,
            network=self.placement.network,
            ports=ports,
            labels=self._labels(HOLDER),
        )
        self.holder_id = holder.id

    def _create_volumes(self) -> None:
        for volume in self.task.volumes:
            name = f"{self.name}-{volume.name}"
            self.client.volumes.create(name=name, labels=self._labels(f"volume:{volume.name}"))
            self.volume_names.append(name)

    def _create_container(self, spec: ContainerSpec) -> str:
        api = self.client.api
        entrypoint, command = effective_argv(spec, api.inspect_image(spec.image)["Config"])
        mounts = self._mounts(spec)
        has_secrets = bool(spec.secrets)
        if has_secrets:
            mounts.append(wrapper_mount())
            entrypoint, command = wrapped_argv(entrypoint, command)
        created = api.create_container(
            spec.image,
            name=f"{self.name}-{spec.name}",
            entrypoint=entrypoint,
            command=command,
            environment=self._environment(spec),
            working_dir=spec.working_directory,
            user=spec.user or "",
            labels={**spec.docker_labels, **self._labels(spec.name)},
            healthcheck=docker_healthcheck(spec.health_check) if spec.health_check else None,
            stdin_open=has_secrets,  # see parity.engine.secretinject
            stop_signal=ECS_STOP_SIGNAL,
            stop_timeout=spec.stop_timeout_seconds,
            host_config=self._host_config(spec, mounts),
        )
        container_id: str = created["Id"]
        return container_id

    def _mounts(self, spec: ContainerSpec) -> list[Mount]:
        """The task volumes the container mounts, then dev mode's bind mounts."""
        return [
            Mount(
                target=point.container_path,
                source=f"{self.name}-{point.source_volume}",
                type="volume",
                read_only=point.read_only,
            )
            for point in spec.mount_points
        ] + [
            Mount(
                target=bind.container_path,
                source=str(bind.host_path),
                type="bind",
                read_only=bind.read_only,
            )
            for bind in self.placement.bind_mounts.get(spec.name, ())
        ]

    def _host_config(self, spec: ContainerSpec, mounts: list[Mount]) -> dict[str, Any]:
        """The holder's namespace, volumesFrom, the root filesystem, and the task's cpu and
        memory as limits (a container's own memory wins)."""
        memory_mib = spec.memory_mib or self.task.memory_mib
        host_config: dict[str, Any] = self.client.api.create_host_config(
            network_mode=f"container:{self.holder_id}",
            volumes_from=[
                f"{self.container_ids[source.source_container]}:{mode(source.read_only)}"
                for source in spec.volumes_from
            ],
            mounts=mounts,
            read_only=spec.readonly_root_filesystem,
            mem_limit=memory_mib * MIB if memory_mib else None,
            memswap_limit=memory_mib * MIB if memory_mib else None,
            mem_reservation=(
                spec.memory_reservation_mib * MIB if spec.memory_reservation_mib else None
            ),
            nano_cpus=(self.task.cpu_units * NANOSECONDS // 1024 if self.task.cpu_units else None),
        )
        return host_config

    def _environment(self, spec: ContainerSpec) -> dict[str, str]:
        overrides = self.placement.environment_overrides
        sidecar = self.placement.sidecar
        return {
            **self.placement.platform_environment,
            **(sidecar.environment(self.task, self.name, spec.name) if sidecar else {}),
            **{name: overrides.get(name, value) for name, value in spec.environment.items()},
            **self.placement.added_environment.get(spec.name, {}),
        }

    def _start_container(self, spec: ContainerSpec) -> None:
        container_id = self.container_ids[spec.name]
        values = self.secrets.get(spec.name, {})
        if spec.secrets:
            start_with_secrets(self.client, container_id, values)
        else:
            self.client.api.start(container_id)

    # -- dependsOn ---------------------------------------------------------------------

    def _wait_for_dependencies(self, name: str) -> None:
        spec = self.task.container(name)
        timeout = float(spec.start_timeout_seconds or DEFAULT_START_TIMEOUT_S)
        for dependency in self.plan.dependencies[name]:
            self._wait_for_condition(name, dependency, timeout)

    def _wait_for_condition(
        self, dependent: str, dependency: ContainerDependency, timeout_s: float
    ) -> None:
        deadline = time.monotonic() + timeout_s
        target = dependency.container
        condition = dependency.condition
        while time.monotonic() < deadline:
            state = self.state(target)
            exited = state["Status"] in {"exited", "dead"}
            health = state.get("Health", {}).get("Status")
            if condition is DependencyCondition.START and (state["Running"] or exited):
                return
            if condition is DependencyCondition.COMPLETE and exited:
                return
            if condition is DependencyCondition.SUCCESS and exited:
                if state["ExitCode"] == 0:
                    return
                raise TaskFailed(
                    f"{self.name}: {target} exited with {state['ExitCode']}, so {dependent} "
                    f"(dependsOn {target} SUCCESS) was never started"
                )
            if condition is DependencyCondition.HEALTHY:
                if self._healthy(target, state):
                    return
                if exited or health == "unhealthy":
                    raise TaskFailed(
                        f"{self.name}: {target} is {'stopped' if exited else 'unhealthy'}, so "
                        f"{dependent} (dependsOn {target} HEALTHY) was never started"
                    )
            self._fail_if_an_essential_container_stopped(waiting_for=dependent)
            time.sleep(POLL_INTERVAL_S)
        raise TaskTimeout(
            f"{self.name}: {target} did not reach {condition} within {timeout_s:.0f}s, so "
            f"{dependent} was never started"
        )

    def _fail_if_an_essential_container_stopped(self, *, waiting_for: str) -> None:
        for spec in self.task.containers:
            if not spec.essential or spec.name not in self.container_ids:
                continue
            state = self.state(spec.name)
            if state["Status"] in {"exited", "dead"}:
                raise TaskFailed(
                    f"{self.name}: essential container {spec.name} exited with "
                    f"{state['ExitCode']} while {waiting_for} waited to start"
                )

    # -- observe -----------------------------------------------------------------------

    def state(self, container: str) -> dict[str, Any]:
        state: dict[str, Any] = self.client.api.inspect_container(self.container_ids[container])[
            "State"
        ]
        return state

    def _healthy(self, name: str, state: Mapping[str, Any]) -> bool:
        """Docker's verdict, or, while Docker has not checked yet, the health command run
        by the harness itself every FAST_PROBE_INTERVAL_S. Docker runs the first check only
        one interval after the start (as ECS does); probing sooner saves seconds per
        dependsOn HEALTHY edge without changing what "healthy" means."""
        health = state.get("Health", {}).get("Status")
        if health == "healthy" or name in self._probed_healthy:
            return True
        check = self.task.container(name).health_check
        if health != "starting" or check is None or not state.get("Running"):
            return False
        now = time.monotonic()
        if now - self._last_probe.get(name, 0.0) < FAST_PROBE_INTERVAL_S:
            return False
        self._last_probe[name] = now
        kind, *rest = check.command
        argv = ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        probe = self.client.api.exec_create(self.container_ids[name], argv)
        self.client.api.exec_start(probe["Id"])
        if self.client.api.exec_inspect(probe["Id"])["ExitCode"] == 0:
            self._probed_healthy.add(name)
            return True
        return False

    def host_port(self, container_port: int) -> int:
        """The loopback port published for ``container_port`` on the holder."""
        ports = self.client.api.inspect_container(self.holder_id)["NetworkSettings"]["Ports"]
        bindings = ports.get(f"{container_port}/tcp") or []
        if not bindings:
            raise HarnessError(f"{self.name} publishes no port for {container_port}")
        return int(bindings[0]["HostPort"])

    def wait_until_healthy(self, timeout_s: float) -> None:
        """Wait until every container with a health check is healthy, the rest running."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._fail_if_an_essential_container_stopped(waiting_for="the task to turn healthy")
            states = {spec.name: self.state(spec.name) for spec in self.task.containers}
            pending = [
                spec.name
                for spec in self.task.containers
                if spec.essential
                and (
                    not states[spec.name]["Running"]
                    or (
                        spec.health_check is not None
                        and not self._healthy(spec.name, states[spec.name])
                    )
                )
            ]
            if not pending:
                return
            time.sleep(POLL_INTERVAL_S)
        raise NotReady(
            f"{self.name} was not healthy within {timeout_s:.0f}s "
            f"(waiting on {', '.join(pending)}); see `invoke logs`"
        )

    def wait_until_stopped(self, timeout_s: float | None) -> TaskOutcome:
        """Wait until an essential container stops, then stop the rest (ECS semantics)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while deadline is None or time.monotonic() < deadline:
            outcome = self.stop_if_an_essential_container_exited()
            if outcome is not None:
                return outcome
            time.sleep(POLL_INTERVAL_S)
        raise TaskTimeout(f"{self.name} did not stop within {timeout_s:.0f}s")

    def stop_if_an_essential_container_exited(self) -> TaskOutcome | None:
        """One look: when an essential container has exited, stop the task and say how it
        ended; otherwise None."""
        for spec in self.task.containers:
            if spec.essential and self.state(spec.name)["Status"] in {"exited", "dead"}:
                self.stop(reason=f"Essential container in task exited ({spec.name})")
                return self.outcome()
        return None

    def outcome(self) -> TaskOutcome:
        exits = {}
        for spec in self.task.containers:
            state = self.state(spec.name)
            started = state.get("StartedAt", "").startswith("0001") is False
            exits[spec.name] = ContainerExit(
                name=spec.name,
                exit_code=state["ExitCode"] if started and not state["Running"] else None,
                essential=spec.essential,
                oom_killed=bool(state.get("OOMKilled")),
                started=started,
            )
        return TaskOutcome(stop_reason=self._stop_reason or "running", exits=exits)

    def follow_logs(self, sink: LogSink, *, containers: Iterable[str] | None = None) -> None:
        """Stream each container's output to ``sink(container, line)`` in the background."""
        for name in containers or [spec.name for spec in self.task.containers]:
            thread = threading.Thread(
                target=self._pump_logs, args=(name, sink), daemon=True, name=f"logs-{name}"
            )
            thread.start()
            self._log_threads.append(thread)

    def _pump_logs(self, name: str, sink: LogSink) -> None:
        redact = redactor(self.secrets.get(name, {}).values())
        pending = b""
        with contextlib.suppress(APIError, NotFound):
            for chunk in self.client.api.logs(
                self.container_ids[name], stream=True, follow=True, stdout=True, stderr=True
            ):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    sink(name, redact(line.decode(errors="replace")))
        if pending:
            sink(name, redact(pending.decode(errors="replace")))

    def join_logs(self, timeout_s: float = 2.0) -> None:
        for thread in self._log_threads:
            thread.join(timeout=timeout_s)

    def logs(self, container: str, *, tail: int | str = "all") -> str:
        redact = redactor(self.secrets.get(container, {}).values())
        output: bytes = self.client.api.logs(self.container_ids[container], tail=tail)
        return redact(output.decode(errors="replace"))

    # -- stop --------------------------------------------------------------------------

    def stop(self, *, reason: str) -> None:
        """Stop dependents before what they depend on, each with its stopTimeout."""
        self._stop_reason = self._stop_reason or reason
        for wave in self.plan.stop_waves:
            for name in wave:
                if name in self.container_ids:
                    with contextlib.suppress(NotFound, APIError):
                        self.client.api.stop(
                            self.container_ids[name],
                            timeout=self.task.container(name).stop_timeout_seconds,
                        )

    def remove(self) -> None:
        """Remove every container, the sidecar, the holder and the task volumes (idempotent)."""
        self._provisioned = False
        if self.placement.sidecar is not None:
            self.placement.sidecar.remove()
        for container_id in [*self.container_ids.values(), self.holder_id]:
            if container_id is not None:
                with contextlib.suppress(NotFound, APIError):
                    self.client.api.remove_container(container_id, force=True, v=True)
        for name in self.volume_names:
            with contextlib.suppress(NotFound, APIError):
                self.client.api.remove_volume(name, force=True)


def mode(read_only: bool) -> str:
    return "ro" if read_only else "rw"


def redactor(values: Iterable[SecretValue]) -> Callable[[str], str]:
    """Mask every secret value (of 4+ characters) that shows up in a line of output."""
    plaintexts = sorted({v.reveal() for v in values if len(v.reveal()) >= 4}, key=len, reverse=True)

    def redact(text: str) -> str:
        for plaintext in plaintexts:
            text = text.replace(plaintext, "****")
        return text

    return redact
