"""Waiting for a backing service's container: a real probe polled until a deadline."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from docker.errors import APIError, NotFound
from docker.models.containers import Container

from parity.errors import NotReady

POLL_INTERVAL_S = 0.25


def wait_until_ready(
    container: Container,
    *,
    what: str,
    probe: Callable[[], str | None],
    timeout_s: float,
    poll_interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Poll ``probe`` (None when ready, else why not) until it passes or ``timeout_s`` ends;
    fail at once, with its last log lines, if the container exits."""
    deadline = time.monotonic() + timeout_s
    problem = "no answer yet"
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] in {"exited", "dead"}:
            tail = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise NotReady(
                f"{what} ({container.name}) exited with {state['ExitCode']} before it was "
                f"ready: {tail}"
            )
        answer = probe()
        if answer is None:
            return
        problem = answer
        time.sleep(poll_interval_s)
    raise NotReady(
        f"{what} ({container.name}) was not ready within {timeout_s:.0f}s ({problem}); "
        f"see `docker logs {container.name}`"
    )


def published_port(container: Container, container_port: str) -> int:
    """The loopback port Docker published ``container_port`` (``3306/tcp``) on."""
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][container_port]
    return int(bindings[0]["HostPort"])


def remove_quietly(container: Container) -> None:
    with contextlib.suppress(NotFound, APIError):
        container.remove(force=True, v=True)
