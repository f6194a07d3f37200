"""The migrations check: what the pending migrations would do to the running release.

On a fresh local MySQL, the previous release's migration task brings the schema to the
previous release's (its own image, its own migrations). The new release's migration task then
runs ``migrate --pretend``, which prints the SQL of each pending migration. Each statement is
classified with sqlglot (``classify``), and each schema change of an existing table is tried
on a scratch copy of the tables, so the server says how it would run it (``server``).

The deploy runs the previous-release check in the same bring-up: the new migrations then run
for real on top of the previous release's schema and rows, and the previous release's service
has to keep serving on what they left (``parity.verify.previous``).
"""

from __future__ import annotations

import dataclasses
import secrets as random_tokens
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pymysql

from parity.config.settings import (
    LOCAL_ENVIRONMENT,
    EmulatorKind,
    HarnessSettings,
    MigrationPolicy,
)
from parity.console import note, step
from parity.engine.images import image_working_directory, read_image_directory
from parity.engine.labels import Scope
from parity.runtime.bringup import LocalRun
from parity.runtime.localrun import database_settings, run_migration
from parity.services.database import connect
from parity.verify.migrations.classify import classify_all, schema_from_ddl
from parity.verify.migrations.pretend import (
    PendingStatement,
    migration_files,
    migrations_directory,
    pending_statements,
    pretend_tasks,
)
from parity.verify.migrations.report import (
    AllowedBreaking,
    MigrationsReport,
    StatementVerdict,
    print_report,
    write_json,
    write_junit,
    write_step_summary,
)
from parity.verify.migrations.server import ServerSession, confirm_with_server
from parity.verify.previous import (
    CompatibilityResult,
    IncompatibleSchema,
    PreviousVersion,
    check_previous_version,
    compare_with_previous_release,
    with_previous_images,
)

REPORTS_DIR = Path("reports")
# Laravel's migration repository table (config database.migrations).
MIGRATIONS_TABLE = "migrations"
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
    environment: str = LOCAL_ENVIRONMENT,
    previous_ref: str | None = None,
    emulator: EmulatorKind = EmulatorKind.MOTO,
    with_previous_release_run: bool = False,
    allowed_breaking: AllowedBreaking | None = None,
) -> ReleaseChecks:
    """The whole check for a checkout, its report printed and written under ``reports/``.
    With ``with_previous_release_run`` the new migrations then run for real and the previous
    release's service is checked against what they left."""
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
            environment=environment,
            policy=settings.migration_policy,
        )
        report = dataclasses.replace(report, allowed_breaking=allowed_breaking)
        publish(report, project_root=project_root)
        if not with_previous_release_run:
            return ReleaseChecks(migrations=report)
        run = compared.run
        try:
            compatibility = check_previous_version(
                run.context,
                run.tasks,
                run.secrets,
                previous=compared.previous,
                task_prefix=run.context.network,
            )
        except IncompatibleSchema as incompatible:
            compatibility = incompatible.result
        return ReleaseChecks(migrations=report, previous_release=compatibility)


def check_pending_migrations(
    run: LocalRun, *, previous: PreviousVersion, environment: str, policy: MigrationPolicy
) -> MigrationsReport:
    """Bring the run's fresh MySQL to the previous release's schema, then judge the SQL the
    new release's pending migrations would run on it."""
    started = time.monotonic()
    context, tasks = run.context, run.tasks
    release = previous.release.describe()
    run_migration(
        context,
        with_previous_images(tasks, previous.images),
        run.secrets,
        task_name=run.task_name("previous-migration", random_tokens.token_hex(2)),
        timeout_s=MIGRATION_TIMEOUT_S,
        title=f"the previous release's migrations ({release})",
    )
    output: list[str] = []
    run_migration(
        context,
        pretend_tasks(tasks),
        run.secrets,
        task_name=run.task_name("pretend", random_tokens.token_hex(2)),
        timeout_s=MIGRATION_TIMEOUT_S,
        title="the new release's migrations, --pretend",
        log_sink=lambda container, line: (
            output.append(line) if container == tasks.watched_container else None
        ),
    )
    spec = tasks.migration.container(tasks.watched_container)
    working_directory = spec.working_directory or image_working_directory(
        context.client, spec.image
    )
    files = migration_files(
        read_image_directory(
            context.client,
            spec.image,
            migrations_directory(working_directory),
            labels=context.labels,
        )
    )
    statements = pending_statements(output, files)
    database = context.client.containers.get(context.db_host)
    db_image = str(database.attrs["Config"]["Image"])
    db_settings = database_settings(
        tasks.migration, tasks.watched_container, run.secrets.migration, image=db_image
    )
    session = ServerSession(connection=connect(database, db_settings, as_root=True))
    try:
        with step(f"asking the server about {len(statements)} statements"):
            schema_name = db_settings.database
            classified = classify_all(
                [s.sql for s in statements],
                schema_from_ddl(session.create_statements(schema_name)),
            )
            answers = confirm_with_server(session, classified, source=schema_name)
            rows = {**session.row_counts(schema_name), **policy.table_rows}
            ran = migrations_ran(session)
            server = session.server_info(image=db_image)
    finally:
        session.connection.close()
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
    return MigrationsReport(
        environment=environment,
        previous_release=release,
        server=server,
        pending=pending_migrations(
            files=[f.file_name for f in files], ran=ran, statements=statements
        ),
        statements=verdicts,
        policy=policy,
        duration_s=time.monotonic() - started,
    )


def migrations_ran(session: ServerSession) -> set[str]:
    """The migrations the previous release ran (Laravel's repository holds file stems)."""
    try:
        return {str(row[0]) for row in session.rows(f"SELECT migration FROM {MIGRATIONS_TABLE}")}  # noqa: S608
    except pymysql.MySQLError:  # no repository yet: the previous release ran none
        return set()


def pending_migrations(
    *, files: Sequence[str], ran: set[str], statements: Sequence[PendingStatement]
) -> tuple[str, ...]:
    """The migration files the new release would run, in Laravel's order (by name)."""
    pending = {name for name in files if Path(name).stem not in ran}
    pending |= {statement.migration for statement in statements}
    return tuple(sorted(pending))


def publish(report: MigrationsReport, *, project_root: Path) -> None:
    """The table on the terminal, the JSON and JUnit files, and the GitHub step summary."""
    print_report(report)
    reports = project_root / REPORTS_DIR
    json_file = write_json(report, reports / f"migrations-{report.environment}.json")
    junit_file = write_junit(report, reports / f"junit-migrations-{report.environment}.xml")
    write_step_summary(report)
    note(f"wrote {json_file.relative_to(project_root)} and {junit_file.relative_to(project_root)}")
