"""Labels on everything the harness starts, so any run can be found and cleaned up."""

from __future__ import annotations

from enum import StrEnum

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
    command must find); ``checkout`` tells runs of different clones on one machine apart."""
    labels = {MANAGED_LABEL: "true", SCOPE_LABEL: scope.value, RUN_LABEL: run_id}
    if checkout is not None:
        labels[CHECKOUT_LABEL] = checkout
    return labels


def remove_labelled(
    client: docker.DockerClient,
    *,
    scope: Scope,
    run_id: str | None = None,
    checkout: str | None = None,
) -> int:
    """Remove containers, then networks and volumes, carrying the scope (and run) labels."""
    filters = [f"{MANAGED_LABEL}=true", f"{SCOPE_LABEL}={scope}"]
    if run_id is not None:
        filters.append(f"{RUN_LABEL}={run_id}")
    if checkout is not None:
        filters.append(f"{CHECKOUT_LABEL}={checkout}")
    removed = 0
    for container in client.containers.list(all=True, filters={"label": filters}):
        try:
            container.remove(force=True, v=True)
            removed += 1
        except NotFound:
            pass
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
