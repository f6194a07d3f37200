"""The migrations check: what the pending migrations would do to the running release.

On a fresh local MySQL, the previous release's migration task brings the schema to the
previous release's (its own image, its own migrations). The new release's migration task then
runs pretending (fargate-parity.toml's ``migrations_check``), which prints the SQL of each
pending migration. Each statement is
classified with sqlglot (``classify``), and each schema change of an existing table is tried
on a scratch copy of the tables, so the server says how it would run it (``server``).

The deploy runs the previous-release check in the same bring-up: the new migrations then run
for real on top of the previous release's schema and rows, and the previous release's service
has to keep serving on what they left (``parity.verify.previous``).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from parity.config.harness import MigrationsCheckConfig
from parity.config.settings import (
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
    MigrationPolicy,
)
from parity.console import note, step
from parity.engine.labels import Scope
from parity.runtime.bringup import LocalRun
from parity.verify.migrations.classify import classify_all, schema_from_ddl
from parity.verify.migrations.pretend import pending_sql
from parity.verify.migrations.report import (
    AllowedBreaking,
    MigrationsReport,
    StatementVerdict,
    print_report,
    write_json,
    write_junit,
    write_step_summary,
)
from parity.verify.migrations.server import confirm_with_server, root_session
from parity.verify.previous import (
    CompatibilityResult,
    IncompatibleSchema,
    PreviousVersion,
    compare_with_previous_release,
)

REPORTS_DIR = Path("reports")
MIGRATION_TIMEOUT_S = 300.0


@dataclass(frozen=True, kw_only=True)
class ReleaseChecks:
    """The migrations check, and the previous-release run when it was asked for."""

    migrations: MigrationsReport
    previous_release: CompatibilityResult | None = None


def run_migrations_check(
    project_root: Path,
    *,
    settings: HarnessSettings,
    config: MigrationsCheckConfig,
    environment: str = LOCAL_ENVIRONMENT,
    previous_ref: str | None = None,
    emulator: EmulatorKind = EmulatorKind.MOTO,
    with_previous_release_run: bool = False,
    allowed_breaking: AllowedBreaking | None = None,
) -> ReleaseChecks:
    """The whole check for a checkout, its report printed and written under ``reports/``;
    ``config`` is ``environment``'s migrations check. With ``with_previous_release_run`` the
    new migrations then run for real and the previous release's service is checked against
    what they left."""
    with compare_with_previous_release(
        project_root,
        settings=settings,
        scope=Scope.MIGRATIONS,
        previous_ref=previous_ref,
        emulator=emulator,
    ) as compared:
        report = check_pending_migrations(
            compared.run,
            previous=compared.previous,
            config=config,
            environment=environment,
            policy=settings.migration_policy,
        )
        report = dataclasses.replace(report, allowed_breaking=allowed_breaking)
        publish(report, project_root=project_root)
        if not with_previous_release_run:
            return ReleaseChecks(migrations=report)
        try:
            compatibility = compared.check_previous_release()
        except IncompatibleSchema as incompatible:
            compatibility = incompatible.result
        return ReleaseChecks(migrations=report, previous_release=compatibility)


def check_pending_migrations(
    run: LocalRun,
    *,
    previous: PreviousVersion,
    config: MigrationsCheckConfig,
    environment: str,
    policy: MigrationPolicy,
) -> MigrationsReport:
    """Bring the run's fresh MySQL to the previous release's schema, then judge the SQL the
    new release's pending migrations would run on it."""
    started = time.monotonic()
    sql = pending_sql(run, previous=previous, config=config, timeout_s=MIGRATION_TIMEOUT_S)
    statements = sql.statements
    with (
        root_session(run) as (session, database),
        step(f"asking the server about {len(statements)} statements"),
    ):
        schema = database.database
        classified = classify_all(
            [s.sql for s in statements], schema_from_ddl(session.create_statements(schema))
        )
        answers = confirm_with_server(session, classified, source=schema)
        rows = {**session.row_counts(schema), **policy.table_rows}
        ran = session.migrations_ran(table=config.repository_table)
        server = session.server_info(image=database.image)
    verdicts = tuple(
        StatementVerdict(
            migration=pending.migration,
            line=pending.line,
            sql=pending.sql,
            kind=classification.kind,
            table=classification.table,
            breakages=classification.breakages,
            answer=answer,
            table_rows=rows.get(classification.table) if classification.table else None,
        )
        for pending, classification, answer in zip(statements, classified, answers, strict=True)
    )
    pending = {f.file_name for f in sql.files if Path(f.file_name).stem not in ran}
    return MigrationsReport(
        environment=environment,
        previous_release=previous.release.describe(),
        server=server,
        # Laravel runs them in name order; a pending one may run no SQL.
        pending=tuple(sorted(pending | {s.migration for s in statements})),
        statements=verdicts,
        policy=policy,
        duration_s=time.monotonic() - started,
    )


def publish(report: MigrationsReport, *, project_root: Path) -> None:
    """The table on the terminal, the JSON and JUnit files, and the GitHub step summary."""
    print_report(report)
    reports = project_root / REPORTS_DIR
    json_file = write_json(report, reports / f"migrations-{report.environment}.json")
    junit_file = write_junit(report, reports / f"junit-migrations-{report.environment}.xml")
    write_step_summary(report)
    note(f"wrote {json_file.relative_to(project_root)} and {junit_file.relative_to(project_root)}")
