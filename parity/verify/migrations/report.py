"""One row per pending statement: where it comes from, the verdict, why, and the fix.

The same rows go to the terminal (a rich table), ``reports/migrations-<env>.json``, a JUnit
file with one test per pending migration (``reports/junit-migrations-<env>.xml``), and the
GitHub step summary when ``GITHUB_STEP_SUMMARY`` names one.
"""

from __future__ import annotations

import html
import json
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from parity.config.settings import LockingAction, MigrationPolicy
from parity.console import console
from parity.verify.migrations.classify import Breakage, StatementKind
from parity.verify.migrations.server import (
    MARIADB_DIFFERENCES,
    Algorithm,
    ServerAnswer,
    ServerInfo,
)

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
LOCKING_FIX = (
    "for a large table, run it with an online schema change tool (gh-ost, "
    "pt-online-schema-change) or add a new column instead of changing this one"
)
SAFE_BECAUSE: Mapping[StatementKind, str] = {
    StatementKind.CREATE_TABLE: "creates a new table, which no running code uses",
    StatementKind.DATA: "changes rows, not the schema",
    StatementKind.OTHER: "changes no table",
}
ALGORITHM_MEANS: Mapping[Algorithm, str] = {
    Algorithm.INSTANT: "the server changes only metadata (INSTANT)",
    Algorithm.INPLACE: "the server runs it online (INPLACE, LOCK=NONE)",
    Algorithm.COPY: "the server refused INSTANT and INPLACE without a lock: it copies the "
    "table and blocks writes meanwhile",
}
VERDICT_STYLE = {"safe": "green", "breaking": "red", "locking": "yellow"}


class Verdict(StrEnum):
    SAFE = "safe"
    BREAKING = "breaking"
    LOCKING = "locking"


@dataclass(frozen=True, kw_only=True)
class StatementVerdict:
    migration: str
    line: int | None
    sql: str
    kind: StatementKind
    table: str | None
    breakages: tuple[Breakage, ...] = ()
    answer: ServerAnswer | None = None
    # Rows of the table it changes (the local copy's, or PARITY_TABLE_ROWS's).
    table_rows: int | None = None

    @property
    def failed_on_server(self) -> bool:
        return self.answer is not None and self.answer.error is not None

    @property
    def verdicts(self) -> tuple[Verdict, ...]:
        found = []
        if self.breakages or self.failed_on_server:
            found.append(Verdict.BREAKING)
        if self.answer is not None and self.answer.algorithm is Algorithm.COPY:
            found.append(Verdict.LOCKING)
        return tuple(found) or (Verdict.SAFE,)

    @property
    def reasons(self) -> tuple[str, ...]:
        reasons = [breakage.reason for breakage in self.breakages]
        if self.answer is not None and self.answer.error is not None:
            reasons.append(f"the server refused it on a copy of the rows: {self.answer.error}")
        elif self.answer is not None and self.answer.algorithm is not None:
            rows = f" ({row_count(self.table_rows)})" if self.table_rows is not None else ""
            reasons.append(f"{ALGORITHM_MEANS[self.answer.algorithm]}{rows}")
        elif not reasons:
            reasons.append(SAFE_BECAUSE.get(self.kind, "changes only what this deploy creates"))
        return tuple(reasons)

    @property
    def fixes(self) -> tuple[str, ...]:
        fixes = [breakage.fix for breakage in self.breakages]
        if Verdict.LOCKING in self.verdicts:
            fixes.append(LOCKING_FIX)
        return tuple(fixes)

    @property
    def location(self) -> str:
        return f"{self.migration}:{self.line}" if self.line else self.migration

    def as_json(self) -> dict[str, Any]:
        return {
            "migration": self.migration,
            "line": self.line,
            "statement": self.sql,
            "verdicts": [verdict.value for verdict in self.verdicts],
            "why": list(self.reasons),
            "fix": list(self.fixes),
            "table": self.table,
            "table_rows": self.table_rows,
            "algorithm": self.answer.algorithm.value
            if self.answer and self.answer.algorithm
            else None,
            "server_refusals": list(self.answer.refusals) if self.answer else [],
        }


@dataclass(frozen=True, kw_only=True)
class AllowedBreaking:
    """A deploy told to go ahead although pending migrations break the running release."""

    deploy_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class MigrationsReport:
    environment: str
    previous_release: str
    server: ServerInfo
    # The pending migration files, in the order they run (some may run no SQL).
    pending: tuple[str, ...]
    statements: tuple[StatementVerdict, ...]
    policy: MigrationPolicy
    duration_s: float
    allowed_breaking: AllowedBreaking | None = None

    @property
    def breaking(self) -> tuple[StatementVerdict, ...]:
        return tuple(s for s in self.statements if Verdict.BREAKING in s.verdicts)

    @property
    def locking(self) -> tuple[StatementVerdict, ...]:
        return tuple(s for s in self.statements if Verdict.LOCKING in s.verdicts)

    @property
    def locking_over_limit(self) -> tuple[StatementVerdict, ...]:
        """Locking statements on tables with more rows than the policy's limit."""
        limit = self.policy.lock_row_limit
        return tuple(s for s in self.locking if s.table_rows is None or s.table_rows > limit)

    def failing(self, statements: tuple[StatementVerdict, ...]) -> tuple[StatementVerdict, ...]:
        """Those the policy does not let through: breaking ones, and locking ones over the
        row limit when the policy refuses them."""
        refused = self.locking_over_limit if self.policy.on_locking is LockingAction.REFUSE else ()
        return tuple(s for s in statements if s in self.breaking or s in refused)

    def of(self, migration: str) -> tuple[StatementVerdict, ...]:
        return tuple(s for s in self.statements if s.migration == migration)

    def headline(self) -> str:
        return (
            f"{len(self.statements)} statements in {len(self.pending)} pending migrations "
            f"since {self.previous_release}: {len(self.breaking)} breaking, "
            f"{len(self.locking)} locking (answered by {self.server.describe()})"
        )

    def server_notes(self) -> tuple[str, ...]:
        if not self.server.is_stand_in:
            return ()
        return (
            f"{self.server.describe()} answered, the stand-in for mysql:8.0 (Aurora MySQL 3), "
            "which cannot be pulled here; where they differ:",
            *MARIADB_DIFFERENCES,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "previous_release": self.previous_release,
            "server": {
                "version": self.server.version,
                "product": self.server.product,
                "image": self.server.image,
                "stand_in_for_mysql_8": self.server.is_stand_in,
                "notes": list(self.server_notes()),
            },
            "pending_migrations": list(self.pending),
            "policy": {
                "lock_row_limit": self.policy.lock_row_limit,
                "on_locking": self.policy.on_locking.value,
            },
            "statements": [statement.as_json() for statement in self.statements],
            "allowed_breaking": (
                {
                    "deploy_id": self.allowed_breaking.deploy_id,
                    "reason": self.allowed_breaking.reason,
                }
                if self.allowed_breaking
                else None
            ),
            "duration_s": round(self.duration_s, 1),
        }


def row_count(rows: int | None) -> str:
    if rows is None:
        return "rows unknown"
    return f"{rows} row" if rows == 1 else f"{rows} rows"


# -- outputs ---------------------------------------------------------------------------


def print_report(report: MigrationsReport) -> None:
    table = Table(
        title=f"migrations check ({report.environment}): {report.headline()}",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("migration:line", overflow="fold")
    table.add_column("verdict")
    table.add_column("server")
    table.add_column("statement · why · fix", overflow="fold")
    for statement in report.statements:
        table.add_row(
            Text(statement.location),
            verdict_text(statement),
            Text(server_column(statement.answer)),
            statement_cell(statement),
        )
    console.print(table)
    for line in report.server_notes():
        console.print(Text(f"  {line}", style="dim"))


def verdict_text(statement: StatementVerdict) -> Text:
    text = Text()
    for index, verdict in enumerate(statement.verdicts):
        text.append(("" if index == 0 else ", ") + verdict.value, style=VERDICT_STYLE[verdict])
    return text


def server_column(answer: ServerAnswer | None) -> str:
    if answer is None:
        return "not asked"
    if answer.algorithm is None:
        return "refused"
    return "COPY, locks" if answer.algorithm is Algorithm.COPY else answer.algorithm.value


def statement_cell(statement: StatementVerdict) -> Text:
    cell = Text(statement.sql, style="bold")
    for reason in statement.reasons:
        cell.append(f"\nwhy: {reason}")
    for fix in statement.fixes:
        cell.append(f"\nfix: {fix}", style="cyan")
    return cell


def write_json(report: MigrationsReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_json(), indent=2) + "\n")
    return path


def write_junit(report: MigrationsReport, path: Path) -> Path:
    """One test per pending migration; it fails when one of its statements breaks the running
    release, or locks a table the policy refuses to lock."""
    suite = ElementTree.Element(
        "testsuite",
        name=f"migrations-check ({report.environment})",
        tests=str(len(report.pending)),
        time=f"{report.duration_s:.1f}",
    )
    failures = 0
    for migration in report.pending:
        statements = report.of(migration)
        case = ElementTree.SubElement(
            suite, "testcase", classname=f"migrations.{report.environment}", name=migration
        )
        failing = report.failing(statements)
        if failing:
            failures += 1
            failure = ElementTree.SubElement(
                case, "failure", message="; ".join(r for s in failing for r in s.reasons)
            )
            failure.text = "\n\n".join(described(s) for s in failing)
        output = ElementTree.SubElement(case, "system-out")
        output.text = "\n\n".join(described(s) for s in statements) or "runs no SQL"
    suite.set("failures", str(failures))
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
    return path


def described(statement: StatementVerdict) -> str:
    lines = [
        f"{statement.location}: {', '.join(v.value for v in statement.verdicts)}",
        statement.sql,
        *(f"why: {reason}" for reason in statement.reasons),
        *(f"fix: {fix}" for fix in statement.fixes),
    ]
    return "\n".join(lines)


def write_step_summary(report: MigrationsReport, environ: Mapping[str, str] = os.environ) -> None:
    """Append the table to the GitHub step summary, when CI names one."""
    target = environ.get(SUMMARY_VARIABLE)
    if not target:
        return
    with Path(target).open("a") as summary:
        summary.write(summary_markdown(report))


def summary_markdown(report: MigrationsReport) -> str:
    lines = [
        f"### Migrations check ({report.environment})",
        "",
        html.escape(report.headline()),
        "",
        "| migration:line | verdict | server | statement | why | fix |",
        "|---|---|---|---|---|---|",
    ]
    for statement in report.statements:
        cells = [
            html.escape(statement.location),
            ", ".join(v.value for v in statement.verdicts),
            server_column(statement.answer),
            f"<code>{html.escape(statement.sql)}</code>",
            "<br>".join(html.escape(reason) for reason in statement.reasons),
            "<br>".join(html.escape(fix) for fix in statement.fixes),
        ]
        lines.append(
            "| "
            + " | ".join(cell.replace("|", "&#124;").replace("\n", " ") for cell in cells)
            + " |"
        )
    if report.allowed_breaking:
        allowed = report.allowed_breaking
        lines += [
            "",
            f"Breaking migrations allowed by deploy {html.escape(allowed.deploy_id)}: "
            + html.escape(allowed.reason),
        ]
    lines += ["", *(f"> {html.escape(note)}" for note in report.server_notes()), ""]
    return "\n".join(lines) + "\n"
