"""Every ECS service of a local run, started after the migration gate.

Each service runs ``desiredCount`` tasks (capped by fargate-parity.toml's ``max_tasks``). A
service behind a load balancer gets a local one (``parity.runtime.loadbalancer``) on a loopback
port, routing to its tasks the way its target group would; a service without one, such as a
queue worker, runs with no port at all.
"""

from __future__ import annotations

import functools
import secrets as random_tokens
from collections.abc import Mapping
from dataclasses import dataclass, field

from parity.assembly.apptasks import ServiceSpec
from parity.console import console, note
from parity.engine.labels import side_by_side
from parity.errors import ConfigError
from parity.runtime.bringup import SERVICE_TASK, LocalRun
from parity.runtime.loadbalancer import LocalLoadBalancer, holder_address
from parity.runtime.localrun import local_task, start_service_task
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
    # The first load-balanced service's loopback port (0: a free one) unless `ports` names it;
    # the others take free ones.
    first_port: int = 0
    # fargate-parity.toml's [services] ports: service (logical id or key) → loopback port.
    ports: Mapping[str, int] = field(default_factory=dict)
    max_tasks: int = 3
    bind_mounts: Mapping[str, tuple[BindMount, ...]] = field(default_factory=dict)
    added_environment: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def task_count(service: ServiceSpec, max_tasks: int) -> int:
    """desiredCount, capped for a laptop; a service scaled to 0 stays at 0."""
    wanted = min(service.desired_count, max_tasks)
    if wanted < service.desired_count:
        note(f"{service.key}: desiredCount {service.desired_count}, running {wanted} locally")
    return wanted


def balancer_ports(
    services: tuple[ServiceSpec, ...], *, first_port: int, configured: Mapping[str, int]
) -> dict[str, int]:
    """Service key → its load balancer's loopback port (0: a free one): the port the config
    gives it, else ``first_port`` for the first load-balanced service the config leaves out."""
    balanced = [service for service in services if service.load_balancer is not None]
    known = {name for service in balanced for name in (service.name, service.key)}
    for name in configured:
        if name not in known:
            listed = ", ".join(service.key for service in balanced) or "none"
            raise ConfigError(
                f"fargate-parity.toml: services.ports.{name} names no load-balanced service"
                f" (they are: {listed})"
            )
    ports: dict[str, int] = {}
    unnamed = [s for s in balanced if s.key not in configured and s.name not in configured]
    for service in balanced:
        port = configured.get(service.key, configured.get(service.name))
        if port is None:
            first = service is unnamed[0] and first_port not in configured.values()
            port = first_port if first else 0
        ports[service.key] = port
    return ports


def balancer_for(run: LocalRun, service: ServiceSpec, *, host_port: int) -> LocalLoadBalancer:
    context = run.context
    return LocalLoadBalancer(
        run.client,
        name=f"{context.network}-{service.key}-alb",
        network=context.network,
        labels=context.labels,
        host_port=host_port,
    )


def provision_services(run: LocalRun, options: ServiceOptions) -> tuple[RunningService, ...]:
    """Every service of the run made ready to start, none of its containers started: the
    balancers run (in template order), and each service's tasks are provisioned side by side
    (``LocalTask.provision``). ``start_services`` starts them.

    On a failure, what this call made is removed before the error surfaces.
    """
    made = [RunningService(service) for service in run.tasks.services]
    ports = balancer_ports(
        run.tasks.services, first_port=options.first_port, configured=options.ports
    )
    for running in made:
        if running.service.load_balancer is not None:
            running.balancer = balancer_for(
                run, running.service, host_port=ports[running.service.key]
            )
        running.tasks.extend(
            local_task(
                run.context,
                run.tasks,
                running.service.task,
                run.secrets,
                task_name=run.task_name(
                    f"{SERVICE_TASK}-{running.service.key}", random_tokens.token_hex(2)
                ),
                bind_mounts=options.bind_mounts,
                added_environment=options.added_environment,
            )
            for _ in range(task_count(running.service, options.max_tasks))
        )
    try:
        side_by_side(
            [
                *(
                    functools.partial(running.balancer.ensure_running, run.certificates)
                    for running in made
                    if running.balancer is not None
                ),
                *(task.provision for running in made for task in running.tasks),
            ],
            name="provision",
        )
    except BaseException:
        stop_services(made)
        raise
    return tuple(made)


def start_services(
    run: LocalRun, provisioned: tuple[RunningService, ...]
) -> tuple[RunningService, ...]:
    """Start every provisioned service, side by side as ECS starts them: each task healthy,
    then its balancer's routes to them; print each URL once all are up.

    On a failure, every service is stopped and removed before the error surfaces.
    """
    try:
        side_by_side(
            [functools.partial(start_tasks, run, running) for running in provisioned],
            name="svc",
        )
    except BaseException:
        stop_services(list(provisioned))
        raise
    for running in provisioned:
        where = running.url or "no port (not behind a load balancer)"
        console.print(
            f"[bold green]{running.service.key}:[/] {len(running.tasks)} task(s), {where}"
        )
    return provisioned


def start_tasks(run: LocalRun, running: RunningService) -> None:
    """The service's tasks, each healthy, then its balancer's routes to them."""
    for task in running.tasks:
        start_service_task(task, key=running.service.key)
    if running.balancer is not None and running.tasks:
        route(run, running)


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
