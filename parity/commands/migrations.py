"""``invoke migrations-check``: the pending migrations' SQL judged against the running release."""

from __future__ import annotations

from pathlib import Path

from parity.config.harness import load_config
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
    refuses what the pending migrations would do. Only where fargate-parity.toml gives the
    environment a ``migrations_check`` table; elsewhere one line says so."""
    config = load_config(project_root).migrations_check(environment)
    settings = HarnessSettings.for_project(project_root)
    checks = run_migrations_check(
        project_root,
        settings=settings,
        config=config,
        environment=environment,
        previous_ref=previous_ref,
        emulator=settings.emulator_for(emulator),
    )
    enforce(checks)
    return checks.migrations
