from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from parity.commands import suite
from parity.commands.suite import CheckResult, read_junit

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4">
<testcase classname="tests.integration.dev.test_dev_flow" name="test_ordering" time="12.5"/>
<testcase classname="tests.integration.dev.test_dev_flow" name="test_parity" time="1.0">
  <failure message="assert">boom</failure></testcase>
<testcase classname="tests.integration.test_app_images" name="test_asset" time="0.2">
  <skipped message="no engine"/></testcase>
<testcase classname="tests.unit.x" name="test_setup" time="0"><error message="e"/></testcase>
</testsuite></testsuites>
"""


def test_the_report_reads_each_check_with_its_outcome_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    assert read_junit(path) == [
        CheckResult("integration.dev.test_dev_flow::test_ordering", "passed", 12.5),
        CheckResult("integration.dev.test_dev_flow::test_parity", "failed", 1.0),
        CheckResult("integration.test_app_images::test_asset", "skipped", 0.2),
        CheckResult("unit.x::test_setup", "error", 0.0),
    ]


def test_the_report_prints_parametrized_ids_with_brackets_verbatim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = Console(record=True, width=200)
    monkeypatch.setattr(suite, "console", recording)
    suite.print_report(
        "integration",
        [CheckResult("cdk::test_secret[/laravel/local/app-key-/x]", "passed", 1.0)],
        wall_s=1.0,
    )
    assert "test_secret[/laravel/local/app-key-/x]" in recording.export_text()
