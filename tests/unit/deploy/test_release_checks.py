"""The deploy's release checks run only where fargate-parity.toml describes the migrations check."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.deploy.backends import DeployRequest, release_checks


def test_without_a_migrations_check_the_release_checks_are_skipped_in_one_line(
    project_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release_checks(project_root, DeployRequest(environment="qa"), deploy_id="gh-1-1")

    printed = " ".join(capsys.readouterr().err.split())
    assert printed == (
        "→ release checks skipped: fargate-parity.toml gives qa no migrations_check table"
    )
