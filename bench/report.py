"""The results: a rich table on the console, ``bench.json`` and ``bench.md``."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from rich.table import Table

from bench.measure import Figure
from parity.console import console

RESULTS_DIR = Path(__file__).parent / "results"
JSON_RESULTS = RESULTS_DIR / "bench.json"
MARKDOWN_RESULTS = RESULTS_DIR / "bench.md"
STEPS_SHOWN = 5
WHERE_THE_TIME_GOES = (
    "Where the time goes (median seconds of the harness's step lines; for the test suite, "
    "its slowest test modules):"
)
GIB = 1024**3


@dataclass(frozen=True, kw_only=True)
class Machine:
    cores: int
    memory_gib: float
    cpu: str
    kernel: str
    docker: str
    python: str

    def describe(self) -> str:
        return (
            f"{self.cores} cores ({self.cpu}), {self.memory_gib:.1f} GiB RAM, Linux {self.kernel},"
            f" Docker {self.docker}, Python {self.python}"
        )


def this_machine(client: docker.DockerClient) -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        memory_gib=round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
        cpu=cpu_model(),
        kernel=platform.release(),
        docker=str(client.version().get("Version", "unknown")),
        python=platform.python_version(),
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


@dataclass(frozen=True, kw_only=True)
class Results:
    date: str
    machine: Machine
    options: Mapping[str, Any]
    figures: Sequence[Figure]
    errors: Mapping[str, str]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def with_earlier_figures(figures: Sequence[Figure], previous: Path = JSON_RESULTS) -> list[Figure]:
    """This run's figures, then any figure only an earlier run measured (with its date)."""
    measured = {figure.key for figure in figures}
    try:
        earlier = json.loads(previous.read_text())
    except (OSError, ValueError):
        return list(figures)
    carried = []
    for data in earlier.get("figures", []):
        figure = Figure.from_json(data)
        if figure.key not in measured and figure.value is not None:
            measured_at = figure.measured_at or str(earlier.get("date", "an earlier run"))
            carried.append(dataclasses.replace(figure, measured_at=measured_at))
    return [*figures, *carried]


def value_text(figure: Figure) -> str:
    if figure.value is None:
        return "—"
    if figure.unit == "x":
        return f"{figure.value:.2f}x"
    if figure.unit == "MB":
        return f"{figure.value:.1f} MB"
    return f"{figure.value:.2f} {figure.unit}"


def notes_text(figure: Figure) -> str:
    if figure.measured_at:
        return f"{figure.note} (not measured in this run: last measured {figure.measured_at})"
    return figure.note


def top_steps(figure: Figure) -> str:
    ranked = sorted(figure.phases.items(), key=lambda item: item[1], reverse=True)[:STEPS_SHOWN]
    return "; ".join(f"{what} {seconds:.1f}s" for what, seconds in ranked)


def print_table(results: Results) -> None:
    table = Table(
        title=f"fargate-parity benchmarks, {results.date}", caption=results.machine.describe()
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("runs", justify="right")
    table.add_column("notes")
    for figure in results.figures:
        runs = ", ".join(f"{run:g}" for run in figure.runs) if len(figure.runs) > 1 else ""
        table.add_row(figure.label, value_text(figure), runs, notes_text(figure))
    console.print(table)
    for section, error in results.errors.items():
        console.print(f"[red]section {section} failed:[/] {error}", markup=True)


def markdown(results: Results) -> str:
    lines = [
        f"Measured {results.date} on {results.machine.describe()}.",
        "",
        "| figure | value | runs | notes |",
        "|---|---:|---|---|",
    ]
    for figure in results.figures:
        runs = ", ".join(f"{run:g}" for run in figure.runs) if len(figure.runs) > 1 else ""
        cells = [figure.label, value_text(figure), runs, notes_text(figure)]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    with_steps = [figure for figure in results.figures if figure.phases]
    if with_steps:
        lines += ["", WHERE_THE_TIME_GOES, ""]
        lines += [f"- {figure.label}: {top_steps(figure)}" for figure in with_steps]
    if results.errors:
        lines += [""] + [
            f"- section {name} failed: {error}" for name, error in results.errors.items()
        ]
    return "\n".join(lines) + "\n"


def write_results(results: Results) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = {
        "date": results.date,
        "machine": dataclasses.asdict(results.machine),
        "options": dict(results.options),
        "figures": [figure.as_json() for figure in results.figures],
        "errors": dict(results.errors),
    }
    JSON_RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    MARKDOWN_RESULTS.write_text(markdown(results))
