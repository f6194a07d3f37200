"""Run the test suite in a child pytest, with JUnit XML for CI and a short report."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from parity.commands.migrations import migrations_check
from parity.config.settings import EmulatorKind, HarnessSettings
from parity.console import console
from parity.engine.daemon import ensure_compose, ensure_engine
from parity.errors import HarnessError

NO_TESTS_COLLECTED = 5
EMULATOR_VARIABLE = "PARITY_EMULATOR"
REPORTS_DIR = Path("reports")


@dataclass(frozen=True)
class SuiteRun:
    """One pytest run: which tests (``marker``), against which emulator, reported where."""

    marker: str | None
    junit_xml: Path
    # None: the tests' own choice, PARITY_EMULATOR (or moto).
    emulator: EmulatorKind | None = None
    previous_ref: str | None = None
    title: str = "tests"


@dataclass(frozen=True)
class CheckResult:
    name: str
    outcome: str  # passed, failed, error or skipped
    seconds: float


def run_pytest(run: SuiteRun, *, project_root: Path, extra_args: list[str] | None = None) -> None:
    """Run pytest, print the report; raise HarnessError when it fails or collects nothing."""
    if run.marker != "not integration":
        ensure_engine()  # before pytest, so install and start-up messages are shown
        ensure_compose()  # the compose export's test runs it
    command = [sys.executable, "-m", "pytest", f"--junitxml={run.junit_xml}"]
    if run.marker:
        command += ["-m", run.marker]
    command += extra_args or []
    environment = dict(os.environ)
    if run.emulator is not None:
        environment[EMULATOR_VARIABLE] = run.emulator.value
    if run.previous_ref:
        environment["PARITY_PREVIOUS_REF"] = run.previous_ref
    run.junit_xml.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(command, cwd=project_root, env=environment, check=False)
    wall_s = time.monotonic() - started
    if run.junit_xml.exists():
        print_report(run.title, read_junit(run.junit_xml), wall_s=wall_s)
    if result.returncode == NO_TESTS_COLLECTED:
        raise HarnessError("pytest collected no tests; check the -m selection and the test paths")
    if result.returncode != 0:
        raise HarnessError(
            f"{run.title} failed (pytest exit {result.returncode}); see the report above"
        )


def run_suite(project_root: Path, *, unit_only: bool = False) -> None:
    """``invoke test``: unit and integration tests on the chosen emulator, then the
    emulator-dependent integration tests again on LocalStack."""
    reports = project_root / REPORTS_DIR
    if unit_only:
        run = SuiteRun(marker="not integration", junit_xml=reports / "junit-unit.xml")
        run_pytest(run, project_root=project_root)
        return
    run_pytest(
        SuiteRun(marker=None, junit_xml=reports / "junit.xml", title="unit + integration"),
        project_root=project_root,
    )
    run_pytest(
        SuiteRun(
            marker="integration and emulator",
            junit_xml=reports / "junit-localstack.xml",
            emulator=EmulatorKind.LOCALSTACK,
            title="integration on LocalStack",
        ),
        project_root=project_root,
    )


def run_integration(project_root: Path, *, emulator: str | None, previous_ref: str | None) -> None:
    """``invoke test-integration``: the integration tests, a report and their JUnit XML, then
    the migrations check of this checkout against its previous release (its own report and
    JUnit file). Both run; the first failure is raised."""
    kind = HarnessSettings.for_project(project_root).emulator_for(emulator)
    run = SuiteRun(
        marker="integration",
        junit_xml=project_root / REPORTS_DIR / f"junit-integration-{kind.value}.xml",
        emulator=kind,
        previous_ref=previous_ref,
        title=f"integration on {kind.value}",
    )
    failures: list[HarnessError] = []
    for check in (
        lambda: run_pytest(run, project_root=project_root),
        lambda: migrations_check(project_root, previous_ref=previous_ref, emulator=kind.value),
    ):
        try:
            check()
        except HarnessError as error:
            failures.append(error)
    if failures:
        raise failures[0]


def read_junit(path: Path) -> list[CheckResult]:
    results = []
    # Our own pytest's report, not untrusted input.
    for case in ElementTree.parse(path).getroot().iter("testcase"):  # noqa: S314
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = "failed" if tag == "failure" else tag
        module = case.get("classname", "").removeprefix("tests.")
        results.append(
            CheckResult(
                name=f"{module}::{case.get('name', '')}",
                outcome=outcome,
                seconds=float(case.get("time", "0")),
            )
        )
    return results


def print_report(title: str, results: list[CheckResult], *, wall_s: float) -> None:
    table = Table(title=f"{title}: {len(results)} checks in {wall_s:.0f}s", title_justify="left")
    table.add_column("check", overflow="fold")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    colours = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}
    for result in results:
        table.add_row(  # Text: parametrized test ids hold brackets, not markup
            Text(result.name),
            Text(result.outcome, style=colours[result.outcome]),
            f"{result.seconds:.1f}",
        )
    console.print(table)
