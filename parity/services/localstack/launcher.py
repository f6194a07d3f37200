"""Start LocalStack in a container where its image can be had, else on the host; stop it."""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from dataclasses import dataclass

from parity.console import note, step
from parity.engine.daemon import connect
from parity.services.localstack.container import DockerImages, plan_localstack, start_container
from parity.services.localstack.host import start_host_process
from parity.services.localstack.install import HostInstall, ensure_host_install
from parity.services.localstack.readiness import StartedLocalStack, health_fetcher, wait_until_ready
from parity.services.localstack.settings import (
    CONTAINER_READY_TIMEOUT_S,
    HOST_READY_TIMEOUT_S,
    LOCALSTACK_VERSION,
)


@dataclass
class RunningLocalStack:
    endpoint_url: str
    started: StartedLocalStack

    def __post_init__(self) -> None:
        # Host mode runs in its own session: without this, a harness that exits
        # without stop() would leave it running.
        atexit.register(self.stop)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        self.started.stop()


def start_localstack(
    *,
    port: int | None,
    labels: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
    install: HostInstall | None = None,
) -> RunningLocalStack:
    """Start LocalStack in a container if its image can be had, else on the host."""
    client = connect()
    plan = plan_localstack(DockerImages(client) if client is not None else None, environ)
    if plan.image is not None and client is not None:
        with step(f"LocalStack container ({plan.image})"):
            started, bound_port = start_container(
                client, plan.image, port=port, labels=labels, environ=environ
            )
            return ready(started, bound_port, timeout_s=CONTAINER_READY_TIMEOUT_S)
    note(f"running LocalStack {LOCALSTACK_VERSION} on the host: {plan.reason}")
    host_install = install or HostInstall.default()
    ensure_host_install(host_install)
    with step(f"LocalStack {LOCALSTACK_VERSION} on the host"):
        process, bound_port = start_host_process(host_install, port=port, environ=environ)
        return ready(process, bound_port, timeout_s=HOST_READY_TIMEOUT_S)


def ready(started: StartedLocalStack, port: int, *, timeout_s: float) -> RunningLocalStack:
    """Wait for readiness; on failure stop what was started, so nothing is left behind."""
    endpoint_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(started, health_fetcher(endpoint_url), timeout_s=timeout_s)
    except BaseException:
        started.stop()
        raise
    return RunningLocalStack(endpoint_url, started)
