"""Timing primitives: figures, medians, bounded HTTP polls and per-step breakdowns."""

from __future__ import annotations

import re
import socket
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from parity.errors import HarnessError

HTTP_POLL_INTERVAL_S = 0.02
HTTP_REQUEST_TIMEOUT_S = 5.0
# ``parity.console.step`` prints "✓ what it did (12.3s)"; image builds print the same shape.
STEP_LINE = re.compile(r"^✓ (?P<what>.+?) \((?P<seconds>\d+(?:\.\d+)?)s\)$")
RECORDED_WIDTH = 400  # columns for the harness's output: long image tags must not wrap
ASSET_HASH = re.compile(r"fargate-parity/asset:[0-9a-f]{64}")
# Per-run ids in step lines: "(laravel-local-migration:0f56d49973b9)", "parity-local-…-migration-…"
RUN_IDS = re.compile(r" \([\w-]+:[0-9a-f]{12}\)|(parity-[a-z]+-[0-9a-f]{8}-\w+-[0-9a-f]+)")


class BenchError(HarnessError):
    """A measurement could not be taken (the thing measured failed, or never happened)."""


@dataclass(frozen=True, kw_only=True)
class Figure:
    """One row of the results table."""

    key: str
    label: str
    value: float | None  # None: not measured (see ``note``)
    unit: str  # "s", "MB", "x"
    runs: tuple[float, ...] = ()  # every sample the value is the median of
    note: str = ""
    phases: Mapping[str, float] = field(default_factory=dict)  # median seconds per step
    measured_at: str | None = None  # set when carried over from an earlier run

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "runs": list(self.runs),
            "note": self.note,
            "phases": dict(self.phases),
            "measured_at": self.measured_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Figure:
        return cls(
            key=str(data["key"]),
            label=str(data["label"]),
            value=None if data.get("value") is None else float(data["value"]),
            unit=str(data["unit"]),
            runs=tuple(float(run) for run in data.get("runs", [])),
            note=str(data.get("note", "")),
            phases={str(k): float(v) for k, v in dict(data.get("phases", {})).items()},
            measured_at=data.get("measured_at"),
        )


def median_figure(
    key: str,
    label: str,
    runs: Sequence[float],
    *,
    unit: str = "s",
    note: str = "",
    phases: Sequence[Mapping[str, float]] = (),
) -> Figure:
    """The median of ``runs``, with the median time of every step seen in ``phases``."""
    if not runs:
        raise BenchError(f"{label}: no run completed")
    return Figure(
        key=key,
        label=label,
        value=round(statistics.median(runs), 2),
        unit=unit,
        runs=tuple(round(run, 2) for run in runs),
        note=note or f"median of {len(runs)}",
        phases=median_phases(phases),
    )


def ratio_figure(key: str, label: str, numerator: Figure, denominator: Figure) -> Figure:
    """``numerator / denominator``, both measured in this run."""
    if not numerator.value or not denominator.value:
        raise BenchError(f"{label}: {numerator.key} or {denominator.key} was not measured")
    return Figure(
        key=key,
        label=label,
        value=round(numerator.value / denominator.value, 2),
        unit="x",
        note=f"{numerator.key} / {denominator.key}, same run",
    )


def median_phases(samples: Sequence[Mapping[str, float]]) -> dict[str, float]:
    names = list(dict.fromkeys(name for sample in samples for name in sample))
    return {
        name: round(statistics.median(s[name] for s in samples if name in s), 2) for name in names
    }


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll_http(
    url: str,
    accept: Callable[[requests.Response], bool],
    *,
    timeout_s: float,
    what: str,
) -> requests.Response:
    """GET ``url`` (loopback only) until ``accept`` says yes; bounded by ``timeout_s``."""
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError(f"benchmarks only reach loopback targets, not {url}")
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with requests.Session() as session:
        while time.monotonic() < deadline:
            try:
                response = session.get(url, timeout=HTTP_REQUEST_TIMEOUT_S)
                if accept(response):
                    return response
                last = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(HTTP_POLL_INTERVAL_S)
    raise BenchError(f"{what}: {url} did not answer as expected within {timeout_s:.0f}s ({last})")


def wait_for_200(url: str, *, timeout_s: float) -> None:
    poll_http(url, lambda r: r.status_code == 200, timeout_s=timeout_s, what="first 200")


def steps_in(output: str) -> dict[str, float]:
    """{step: seconds} from the harness's printed output (step lines of one name add up)."""
    seconds: dict[str, float] = {}
    for line in output.splitlines():
        match = STEP_LINE.match(line.strip())
        if match is not None:
            seconds[match["what"]] = seconds.get(match["what"], 0.0) + float(match["seconds"])
    return seconds


def rename_steps(steps: Mapping[str, float], renames: Mapping[str, str]) -> dict[str, float]:
    """Image tags are long hashes: ``renames`` maps a tag to a short name; any other asset
    tag becomes ``fargate-parity/asset:…``."""
    renamed: dict[str, float] = {}
    for what, seconds in steps.items():
        for tag, name in renames.items():
            what = what.replace(tag, name)
        what = ASSET_HASH.sub("fargate-parity/asset:…", what)
        what = RUN_IDS.sub(lambda match: "…" if match[1] else "", what)
        renamed[what] = renamed.get(what, 0.0) + seconds
    return renamed
