"""Every ECS service of a local run, started after the migration gate.

Each service runs ``desiredCount`` tasks (capped by fargate-parity.toml's ``max_tasks``). A
service behind a load balancer gets a local one (``parity.runtime.loadbalancer``) on a loopback
port, routing to its tasks the way its target group would; a service without one, such as a
queue worker, runs with no port at all.
"""

from __future__ import annotations

import secrets as random_tokens
from collections.abc import Mapping
from dataclasses import dataclass, field

from parity.assembly.apptasks import ServiceSpec
from parity.console import console, note
from parity.runtime.bringup import SERVICE_TASK, LocalRun
from parity.runtime.loadbalancer import LocalLoadBalancer, holder_address
from parity.runtime.localrun import start_service_task
from parity.runtime.task import BindMount, LocalTask

TARGET_TIMEOUT_S = 60.0


@dataclass
class RunningService:
    service: ServiceSpec
    tasks: list[LocalTask] = field(default_factory=list)
    balancer: LocalLoadBalancer | None = None

    @property
    def url(self) -> str | None:
        return None if self.balancer is None else self.balancer.url + "/"


@dataclass(frozen=True, kw_only=True)
class ServiceOptions:
    # The first load-balanced service's loopback port (0: a free one); the others take free ones.
    first_port: int = 0
    max_tasks: int = 3
    bind_mounts: Mapping[str, tuple[BindMount, ...]] = field(default_factory=dict)
    added_environment: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def task_count(service: ServiceSpec, max_tasks: int) -> int:
    """desiredCount, capped for a laptop; a service scaled to 0 stays at 0."""
    wanted = min(service.desired_count, max_tasks)
    if wanted < service.desired_count:
        note(f"{service.key}: desiredCount {service.desired_count}, running {wanted} locally")
    return wanted


def balancer_for(run: LocalRun, service: ServiceSpec, *, host_port: int) -> LocalLoadBalancer:
    context = run.context
    return LocalLoadBalancer(
        run.client,
        name=f"{context.network}-{service.key}-alb",
        network=context.network,
        labels=context.labels,
        host_port=host_port,
    )


def start_services(run: LocalRun, options: ServiceOptions) -> tuple[RunningService, ...]:
    """Start every service of the run, in template order; print each URL.

    On a failure, what this call started is stopped and removed before the error surfaces.
    """
    started: list[RunningService] = []
    next_port = options.first_port
    try:
        for service in run.tasks.services:
            running = RunningService(service)
            started.append(running)
            if service.load_balancer is not None:
                running.balancer = balancer_for(run, service, host_port=next_port)
                running.balancer.ensure_running(run.certificates)
                next_port = 0
            for _ in range(task_count(service, options.max_tasks)):
                running.tasks.append(
                    start_service_task(
                        run.context,
                        run.tasks,
                        service,
                        run.secrets,
                        task_name=run.task_name(
                            f"{SERVICE_TASK}-{service.key}", random_tokens.token_hex(2)
                        ),
                        bind_mounts=options.bind_mounts,
                        added_environment=options.added_environment,
                    )
                )
            if running.balancer is not None and running.tasks:
                route(run, running)
    except BaseException:
        stop_services(started)
        raise
    for running in started:
        where = running.url or "no port (not behind a load balancer)"
        console.print(
            f"[bold green]{running.service.key}:[/] {len(running.tasks)} task(s), {where}"
        )
    return tuple(started)


def route(run: LocalRun, running: RunningService) -> None:
    """Send the balancer's traffic to every task of the service, once one answers health."""
    target = running.service.load_balancer
    assert running.balancer is not None
    assert target is not None
    port = target.port
    targets = tuple(
        holder_address(run.client, str(task.holder_id), run.context.network, port)
        for task in running.tasks
    )
    running.balancer.route(*targets)
    running.balancer.wait_until_served_by(
        *targets, path=target.health_check_path, timeout_s=TARGET_TIMEOUT_S
    )


def stop_services(started: list[RunningService]) -> None:
    for running in started:
        for task in running.tasks:
            task.stop(reason="the run stops")
            task.remove()
        # A balancer an earlier run started serves the checkout's running environment.
        if running.balancer is not None and running.balancer.started_here:
            running.balancer.remove()
