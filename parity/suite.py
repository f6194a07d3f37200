"""Run the test suite in a child pytest, writing JUnit XML for CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from parity.engine import ensure_engine
from parity.errors import HarnessError

NO_TESTS_COLLECTED = 5


def run_pytest(
    *,
    project_root: Path,
    marker: str | None,
    junit_xml: Path,
    extra_args: list[str] | None = None,
) -> None:
    """Run pytest; raise HarnessError when it fails or collects nothing (exit 5)."""
    if marker != "not integration":
        ensure_engine()  # before pytest, so install and start-up messages are shown
    command = [sys.executable, "-m", "pytest", f"--junitxml={junit_xml}"]
    if marker:
        command += ["-m", marker]
    command += extra_args or []
    junit_xml.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, cwd=project_root, check=False)
    if result.returncode == NO_TESTS_COLLECTED:
        raise HarnessError("pytest collected no tests; check the -m selection and the test paths")
    if result.returncode != 0:
        raise HarnessError(f"tests failed (pytest exit {result.returncode}); see the report above")
