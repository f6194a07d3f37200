"""Labels on everything the harness starts, so any run can be found and cleaned up."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from enum import StrEnum
from typing import ParamSpec, TypeVar

import docker
from docker.errors import APIError, NotFound

# Every label name the harness writes, on containers, networks, volumes and images.
MANAGED_LABEL = "org.fargate-parity.managed"
SCOPE_LABEL = "org.fargate-parity.scope"
RUN_LABEL = "org.fargate-parity.run"
CHECKOUT_LABEL = "org.fargate-parity.checkout"
TASK_LABEL = "org.fargate-parity.task"
CONTAINER_LABEL = "org.fargate-parity.container"
BUILT_BY_LABEL = "org.fargate-parity.built-by"
# One value per run (one `invoke …`, or each run a test starts): what a failed run may clean up.
INVOCATION_LABEL = "org.fargate-parity.invocation"

CONFLICT = 409

# The current run's invocation id; every resource it creates carries it. Outside a run
# (``new_invocation``): one id for the process.
_INVOCATION: ContextVar[str] = ContextVar("invocation", default=uuid.uuid4().hex[:12])


def current_invocation() -> str:
    return _INVOCATION.get()


@contextmanager
def new_invocation() -> Iterator[str]:
    """A fresh invocation id for the block (one run): its failure removes what carries it."""
    token = _INVOCATION.set(uuid.uuid4().hex[:12])
    try:
        yield _INVOCATION.get()
    finally:
        _INVOCATION.reset(token)


P = ParamSpec("P")
T = TypeVar("T")


class InvocationPool(ThreadPoolExecutor):
    """A thread pool whose work runs in the submitter's context: what a thread creates
    carries the run's invocation id, as what the run's own thread creates does (a plain pool
    thread would see the process's id, and a failed run would leave it behind)."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = copy_context()
        return super().submit(lambda: context.run(fn, *args, **kwargs))


def side_by_side(calls: Sequence[Callable[[], object]], *, name: str) -> None:
    """Each call in a thread of its own (in this run's context); once all have ended, the
    first error raised, if any."""
    with InvocationPool(max_workers=max(len(calls), 1), thread_name_prefix=name) as pool:
        for done in [pool.submit(call) for call in calls]:
            done.result()


class Scope(StrEnum):
    """What started a resource: the value of SCOPE_LABEL."""

    DEV = "dev"  # invoke dev
    LOCAL_DEPLOY = "local"  # invoke deploy --env local
    COMPAT = "compat"  # the previous-release check
    MIGRATIONS = "migrations"  # the migrations check (and the deploy's release checks)
    COMPOSE = "compose"  # the exported compose file's services
    EMULATOR = "emulator"  # a LocalStack container started on its own
    TEST = "test"  # the integration tests' own containers
    BENCH = "bench"  # the benchmarks' by-hand baseline
    # The local database's data of one checkout: kept by `invoke down` and Ctrl-C, removed
    # only by `invoke down --volumes`.
    DATA = "data"


def run_labels(*, scope: Scope, run_id: str, checkout: str | None = None) -> dict[str, str]:
    """Labels for one run: ``run_id`` is unique per run (or per checkout, for runs a later
    command must find); ``checkout`` tells runs of different clones on one machine apart.
    Every set carries the current run's invocation id, so a failed run removes only what it
    created itself (``remove_labelled(..., invocation=...)``)."""
    labels = {
        MANAGED_LABEL: "true",
        SCOPE_LABEL: scope.value,
        RUN_LABEL: run_id,
        INVOCATION_LABEL: current_invocation(),
    }
    if checkout is not None:
        labels[CHECKOUT_LABEL] = checkout
    return labels


def remove_labelled(
    client: docker.DockerClient,
    *,
    scope: Scope,
    run_id: str | None = None,
    checkout: str | None = None,
    invocation: str | None = None,
    only_stopped: bool = False,
) -> int:
    """Remove containers, then networks and volumes, carrying the scope (and run, checkout,
    invocation) labels. With ``only_stopped``: only the containers that do not run (what a
    killed run or a stopped engine left), no network or volume."""
    filters = [f"{MANAGED_LABEL}=true", f"{SCOPE_LABEL}={scope}"]
    if run_id is not None:
        filters.append(f"{RUN_LABEL}={run_id}")
    if checkout is not None:
        filters.append(f"{CHECKOUT_LABEL}={checkout}")
    if invocation is not None:
        filters.append(f"{INVOCATION_LABEL}={invocation}")
    removed = 0
    for container in client.containers.list(all=True, filters={"label": filters}):
        if only_stopped and container.status == "running":
            continue
        try:
            container.remove(force=True, v=True)
            removed += 1
        except NotFound:
            pass
        except APIError as error:
            if error.status_code != CONFLICT:  # 409: another removal of it is under way
                raise
    if only_stopped:
        return removed
    for network in client.networks.list(filters={"label": filters}):
        try:
            network.remove()
            removed += 1
        except (NotFound, APIError):
            pass
    for volume in client.volumes.list(filters={"label": filters}):
        try:
            volume.remove(force=True)
            removed += 1
        except (NotFound, APIError):
            pass
    return removed
