"""Wall time of `invoke test-integration`, in a copy of the working tree.

The copy has its own checkout id, so its test session cleans up only what it started and
leaves test runs of the real checkout alone. Warm: the app images' layers are cached.
Cold (``--cold-suite``): the copy's Dockerfiles are cache-busted like the cold dev start-up,
so every image the suite builds starts from ``debian:bookworm-slim``.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext, nonce
from bench.measure import Figure, Stopwatch
from bench.project import remove_cache_busted
from parity.commands.suite import read_junit
from parity.console import note

SUITE_TIMEOUT_S = 3600
JUNIT_GLOB = "reports/junit-integration*.xml"  # the task names it after the emulator
LOG_TAIL_LINES = 15
SLOWEST_SHOWN = 5
SUITE_PREFIX = "integration."  # read_junit drops the leading "tests."
FAILED = frozenset({"failed", "error"})


@dataclass(frozen=True)
class SuiteReport:
    summary: str  # "40 tests, 0 failed, 0 skipped"
    slowest: dict[str, float]  # test module → seconds, the slowest few


def junit_report(checkout: Path) -> SuiteReport:
    """What the JUnit report pytest wrote says: counts, and the modules that took longest
    (a test's time includes the module fixtures it set up)."""
    reports = sorted(checkout.glob(JUNIT_GLOB), key=lambda report: report.stat().st_mtime)
    try:
        results = read_junit(reports[-1])
    except (IndexError, OSError, ElementTree.ParseError):
        return SuiteReport(summary="no JUnit report", slowest={})
    failing = [r.name.removeprefix(SUITE_PREFIX) for r in results if r.outcome in FAILED]
    skipped = sum(1 for r in results if r.outcome == "skipped")
    per_module: dict[str, float] = {}
    for result in results:
        module = result.name.split("::", 1)[0].removeprefix(SUITE_PREFIX)
        per_module[module] = per_module.get(module, 0.0) + result.seconds
    slowest = sorted(per_module.items(), key=lambda item: item[1], reverse=True)[:SLOWEST_SHOWN]
    return SuiteReport(
        summary=f"{len(results)} tests, {len(failing)} failed, {skipped} skipped"
        + (f" ({', '.join(failing)})" if failing else ""),
        slowest={module: round(seconds, 1) for module, seconds in slowest},
    )


def time_suite(bench: BenchContext, *, cold: bool) -> Figure:
    kind = "cold" if cold else "warm"
    checkout = bench.new_checkout(f"suite-{kind}")
    cache_bust = f"{bench.session_id}-{nonce()}"
    if cold:
        checkout.bust_build_cache(cache_bust)
    log = bench.workspace / f"test-integration-{kind}.log"
    note(f"invoke test-integration ({kind}) in {checkout.root}; output in {log}")
    clock = Stopwatch()
    with log.open("w") as output:
        result = subprocess.run(
            [str(checkout.root / ".venv" / "bin" / "invoke"), "test-integration"],
            cwd=checkout.root,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=SUITE_TIMEOUT_S,
            check=False,
        )
    seconds = clock.elapsed()
    report = junit_report(checkout.root)
    summary = report.summary
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        note(f"test-integration exited {result.returncode}:\n" + "\n".join(tail))
        summary += f"; exit {result.returncode}"
    if cold:
        remove_cache_busted(bench.client, cache_bust)
    return Figure(
        key=f"test_integration_{kind}_s",
        label=f"invoke test-integration wall time, {kind}",
        value=round(seconds, 1),
        unit="s",
        runs=(round(seconds, 1),),
        note=f"1 run; {summary}",
        phases=report.slowest,
    )


def measure_suite(bench: BenchContext) -> list[Figure]:
    figures = [time_suite(bench, cold=False)] if bench.options.suite else []
    if bench.options.cold_suite:
        figures.append(time_suite(bench, cold=True))
    return figures
