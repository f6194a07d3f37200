"""The policy on the checks' findings, for ``invoke migrations-check`` and ``invoke deploy``.

* Pending migrations that break the running release (by the static check, or by the
  previous-release run) are refused, unless a deploy was given a reason to go ahead
  (``--allow-breaking "reason"``), which is logged with its deploy id.
* A statement that locks a table with more rows than ``PARITY_LOCK_ROWS`` warns, or is
  refused when ``PARITY_ON_LOCKING=refuse``.
"""

from __future__ import annotations

from rich.text import Text

from parity.config.settings import LockingAction
from parity.console import console, note
from parity.errors import HarnessError
from parity.verify.migrations.check import ReleaseChecks
from parity.verify.migrations.report import row_count

LISTED = 3


class UnsafeMigrations(HarnessError):
    """Pending migrations break the running release, or lock a table the policy protects."""


def enforce(checks: ReleaseChecks) -> None:
    """Warn about what the policy lets through; raise UnsafeMigrations for what it refuses."""
    report = checks.migrations
    refuse_locking = report.policy.on_locking is LockingAction.REFUSE
    for statement in report.locking_over_limit:
        console.print(
            Text.assemble(
                ("refused: " if refuse_locking else "warning: ", "yellow"),
                f"{statement.location} locks {statement.table} "
                f"({row_count(statement.table_rows)}, limit {report.policy.lock_row_limit}): "
                f"{statement.sql}",
            )
        )
    breaking = [f"{s.location} {s.reasons[0]}" for s in report.breaking]
    previous = checks.previous_release
    if previous is not None and not previous.passed:
        breaking.append(previous.failure_message())
    if breaking and report.allowed_breaking is not None:
        allowed = report.allowed_breaking
        note(
            f"deploy {allowed.deploy_id} goes ahead with {len(breaking)} breaking finding(s), "
            f"as allowed: {allowed.reason}"
        )
        breaking = []
    if breaking:
        raise UnsafeMigrations(
            f"the pending migrations break the running release: {listed(breaking)}; split them "
            'into expand and contract (see the fixes above), or deploy with --allow-breaking "why"'
        )
    if refuse_locking and report.locking_over_limit:
        locks = [
            f"{s.location} locks {s.table} ({row_count(s.table_rows)})"
            for s in report.locking_over_limit
        ]
        raise UnsafeMigrations(
            f"the pending migrations lock big tables: {listed(locks)}; run them with an online "
            "schema change tool, or set PARITY_ON_LOCKING=warn"
        )


def listed(problems: list[str]) -> str:
    more = f" and {len(problems) - LISTED} more" if len(problems) > LISTED else ""
    return "; ".join(problems[:LISTED]) + more
