"""``invoke migrations-check``: the pending migrations' SQL judged against the running release."""

from __future__ import annotations

from pathlib import Path

from parity.assembly.synth import check_environment
from parity.config.settings import LOCAL_ENVIRONMENT, HarnessSettings
from parity.verify.migrations.check import run_migrations_check
from parity.verify.migrations.policy import enforce
from parity.verify.migrations.report import MigrationsReport


def migrations_check(
    project_root: Path,
    *,
    environment: str = LOCAL_ENVIRONMENT,
    previous_ref: str | None = None,
    emulator: str | None = None,
) -> MigrationsReport:
    """Run the check, print and write its report; raise UnsafeMigrations when the policy
    refuses what the pending migrations would do."""
    check_environment(project_root, environment)
    settings = HarnessSettings.for_project(project_root)
    checks = run_migrations_check(
        project_root,
        settings=settings,
        environment=environment,
        previous_ref=previous_ref,
        emulator=settings.emulator_for(emulator),
    )
    enforce(checks)
    return checks.migrations
