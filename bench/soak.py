"""A bounded soak: `invoke dev` serving a steady loop of requests on 127.0.0.1.

`invoke dev` runs as a user runs it (a fresh `python -m invoke dev` process, streaming every
container's logs), so the harness process whose memory and threads are read is the one a
developer keeps open all day. (`--detach` would leave no harness process to watch: it returns
once the service is healthy.) Once it is ready, a bounded Python loop (LOAD_WORKERS threads,
each one request at a time, for the section's duration) asks for `/`; then Ctrl-C (SIGINT)
stops the run, which removes what it started.

Figures per duration: requests, errors (a non-200 or no answer), p50 and p99 latency, the
harness's RSS and thread count (the log followers included) before and after the load.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.context import BenchContext
from bench.measure import BenchError, Figure, free_loopback_port
from parity.commands.dev import down
from parity.console import note

LOAD_WORKERS = 2
REQUEST_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 180.0
READY = re.compile(r"ready: (http://127\.0\.0\.1:\d+/)")
# Printed once the log followers run: the "before" sample counts them.
STREAMING = "streaming logs;"


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_s) + self.errors

    def percentile_ms(self, share: float) -> float | None:
        ordered = sorted(self.latencies_s)
        if not ordered:
            return None
        return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class ProcessSample:
    rss_mb: float
    threads: int


def sample(pid: int) -> ProcessSample:
    """The process's resident memory and thread count, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return ProcessSample(
        rss_mb=int(fields["VmRSS"].split()[0]) / 1024, threads=int(fields["Threads"])
    )


def load(url: str, *, seconds: float) -> LoadResult:
    """LOAD_WORKERS loops asking for ``url`` until ``seconds`` have passed."""
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    ok = session.get(url, timeout=REQUEST_TIMEOUT_S).status_code == 200
                except requests.RequestException:
                    ok = False
                with lock:
                    if ok:
                        result.latencies_s.append(time.monotonic() - started)
                    else:
                        result.errors += 1

    workers = [threading.Thread(target=worker, name=f"load-{n}") for n in range(LOAD_WORKERS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return result


class DevProcess:
    """`python -m invoke dev --port PORT` for the project, its output drained in a thread."""

    def __init__(self, bench: BenchContext, project_root: Path, port: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "invoke", "dev", "--port", str(port)],
            cwd=bench.project_root,
            env={**os.environ, "PARITY_PROJECT": str(project_root)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: deque[str] = deque(maxlen=50)
        self.ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip())
            ready = READY.search(line)
            if ready and not self.url:
                self.url = ready[1]
            if STREAMING in line and self.url:
                self.ready.set()

    def wait_until_ready(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready.wait(timeout=1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError("invoke dev did not get ready: " + " | ".join(self.lines))
        return self.url

    def stop(self) -> None:
        """Ctrl-C, as a user stops it; the run removes what it started."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure_soak(bench: BenchContext) -> list[Figure]:
    figures: list[Figure] = []
    for seconds in bench.options.soak_seconds:
        project = bench.primed_copy(f"soak-{seconds:.0f}")
        note(f"soak: invoke dev under {LOAD_WORKERS} request loops for {seconds:.0f}s")
        dev = DevProcess(bench, project.root, free_loopback_port())
        try:
            url = dev.wait_until_ready()
            before = sample(dev.process.pid)
            result = load(url, seconds=seconds)
            after = sample(dev.process.pid)
        finally:
            dev.stop()
            down(project.root)
        figures.extend(soak_figures(seconds, result, before, after))
    return figures


def soak_figures(
    seconds: float, result: LoadResult, before: ProcessSample, after: ProcessSample
) -> list[Figure]:
    key = f"soak_{seconds:.0f}s"
    label = f"soak {seconds:.0f}s"
    return [
        Figure(
            key=f"{key}_requests", label=f"{label}: requests", value=result.requests, unit="req"
        ),
        Figure(key=f"{key}_errors", label=f"{label}: errors", value=result.errors, unit="req"),
        Figure(
            key=f"{key}_p50_ms",
            label=f"{label}: p50 latency",
            value=result.percentile_ms(0.5),
            unit="ms",
        ),
        Figure(
            key=f"{key}_p99_ms",
            label=f"{label}: p99 latency",
            value=result.percentile_ms(0.99),
            unit="ms",
        ),
        Figure(
            key=f"{key}_rss_before_mb",
            label=f"{label}: harness RSS before",
            value=before.rss_mb,
            unit="MB",
        ),
        Figure(
            key=f"{key}_rss_after_mb",
            label=f"{label}: harness RSS after",
            value=after.rss_mb,
            unit="MB",
        ),
        Figure(
            key=f"{key}_threads_before",
            label=f"{label}: harness threads before (log followers)",
            value=before.threads,
            unit="threads",
        ),
        Figure(
            key=f"{key}_threads_after",
            label=f"{label}: harness threads after",
            value=after.threads,
            unit="threads",
        ),
    ]
