"""What the checks' findings let through: refusals, the logged go-ahead, lock warnings."""

from __future__ import annotations

from dataclasses import replace

import pytest

from parity.config.settings import LockingAction
from parity.verify.migrations.check import ReleaseChecks
from parity.verify.migrations.policy import UnsafeMigrations, enforce
from parity.verify.migrations.report import AllowedBreaking
from parity.verify.previous import CheckResult, CompatibilityResult, Release
from tests.unit.verify.migrations.conftest import ADD_LOCALE, RENAME, TO_TEXT, report_of

ALLOWED = AllowedBreaking(deploy_id="gh-42-1", reason="the old release is drained first")
FAILED_PREVIOUS_RUN = CompatibilityResult(
    release=Release(ref="v1.0.0", sha="5e6a7e02291f" + "0" * 28),
    checks=(CheckResult(name="GET /", passed=False, detail="returned 500"),),
    duration_s=3.0,
)


def test_safe_migrations_pass_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    enforce(ReleaseChecks(migrations=report_of(ADD_LOCALE)))
    assert capsys.readouterr().err == ""


def test_a_breaking_statement_is_refused_in_one_line_naming_it_and_the_way_out() -> None:
    with pytest.raises(UnsafeMigrations) as refused:
        enforce(ReleaseChecks(migrations=report_of(ADD_LOCALE, RENAME)))
    message = str(refused.value)
    assert message.startswith(
        "the pending migrations break the running release: "
        "2030_01_01_000000_rename_message.php:15 renames greetings.message to body"
    )
    assert message.endswith('or deploy with --allow-breaking "why"')
    assert "\n" not in message


def test_a_failing_previous_release_run_is_refused_like_a_breaking_statement() -> None:
    checks = ReleaseChecks(migrations=report_of(ADD_LOCALE), previous_release=FAILED_PREVIOUS_RUN)
    with pytest.raises(UnsafeMigrations, match=r"GET / returned 500"):
        enforce(checks)


def test_an_allowed_deploy_goes_ahead_and_logs_its_id_and_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = replace(report_of(RENAME), allowed_breaking=ALLOWED)
    enforce(ReleaseChecks(migrations=report, previous_release=FAILED_PREVIOUS_RUN))
    logged = " ".join(capsys.readouterr().err.split())
    assert (
        "deploy gh-42-1 goes ahead with 2 breaking finding(s), as allowed: the old release is "
        "drained first" in logged
    )


def test_a_lock_on_a_big_table_warns_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    enforce(ReleaseChecks(migrations=report_of(TO_TEXT)))
    logged = " ".join(capsys.readouterr().err.split())
    assert (
        "warning: 2030_01_02_000000_bio_to_text.php:14 locks profiles (250000 rows, limit 100000)"
        in logged
    )


def test_a_lock_on_a_big_table_is_refused_when_the_policy_says_so() -> None:
    report = report_of(TO_TEXT, on_locking=LockingAction.REFUSE)
    with pytest.raises(UnsafeMigrations, match=r"lock big tables: .*bio_to_text.php:14 locks"):
        enforce(ReleaseChecks(migrations=report))


def test_allowing_breaking_migrations_does_not_lift_a_lock_refusal() -> None:
    report = replace(report_of(TO_TEXT, on_locking=LockingAction.REFUSE), allowed_breaking=ALLOWED)
    with pytest.raises(UnsafeMigrations, match="set PARITY_ON_LOCKING=warn"):
        enforce(ReleaseChecks(migrations=report))
