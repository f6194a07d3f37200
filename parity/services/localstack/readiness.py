"""Readiness: ``/_localstack/health`` reports the services the harness needs."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from parity.console import console
from parity.errors import NotReady
from parity.services.localstack.settings import LOG_TAIL_LINES, READY_STATES, REQUIRED_SERVICES


class StartedLocalStack(Protocol):
    @property
    def where(self) -> str:
        """Where its output is: a log file or a container."""
        ...

    def exit_reason(self) -> str | None:
        """None while it runs; why it stopped otherwise."""
        ...

    def log_tail(self, lines: int) -> str: ...

    def stop(self) -> None: ...


HealthFetcher = Callable[[], Mapping[str, Any] | None]


def health_fetcher(endpoint_url: str) -> HealthFetcher:
    url = f"{endpoint_url}/_localstack/health"
    # Straight to loopback: an HTTP(S)_PROXY from the environment must not route this.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch() -> Mapping[str, Any] | None:
        try:
            with opener.open(url, timeout=2) as response:
                document = json.load(response)
        except (OSError, ValueError):  # not listening yet, or a half-started gateway
            return None
        return document if isinstance(document, dict) else None

    return fetch


def services_ready(health: Mapping[str, Any] | None, required: Sequence[str]) -> bool:
    services = (health or {}).get("services")
    return isinstance(services, dict) and all(
        services.get(name) in READY_STATES for name in required
    )


def wait_until_ready(
    started: StartedLocalStack,
    fetch_health: HealthFetcher,
    *,
    timeout_s: float,
    required: Sequence[str] = REQUIRED_SERVICES,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
    interval_s: float = 0.2,
) -> None:
    """Poll the health endpoint until ``required`` are usable; fail fast when it exits."""
    deadline = clock() + timeout_s
    while True:
        if services_ready(fetch_health(), required):
            return
        reason = started.exit_reason()
        if reason is not None:
            show_log_tail(started)
            raise NotReady(f"LocalStack stopped ({reason}) before it was ready; {started.where}")
        if clock() >= deadline:
            show_log_tail(started)
            raise NotReady(
                f"LocalStack did not report {' and '.join(required)} ready within "
                f"{timeout_s:.0f}s; {started.where}"
            )
        pause(interval_s)


def show_log_tail(started: StartedLocalStack) -> None:
    tail = started.log_tail(LOG_TAIL_LINES)
    if tail:
        console.print(tail, markup=False, highlight=False)
