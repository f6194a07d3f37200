"""One row per statement, in each output: verdicts, JSON, JUnit, the GitHub step summary."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path

from parity.config.settings import LockingAction
from parity.verify.migrations.report import (
    AllowedBreaking,
    MigrationsReport,
    Verdict,
    summary_markdown,
    write_json,
    write_junit,
    write_step_summary,
)
from tests.unit.verify.migrations.conftest import ADD_LOCALE, RENAME, TO_TEXT, report_of


def read_xml(path: Path) -> ElementTree.Element:
    return ElementTree.parse(path).getroot()  # noqa: S314 (the file this test just wrote)


def test_each_statement_gets_its_verdicts_why_and_fix() -> None:
    assert ADD_LOCALE.verdicts == (Verdict.SAFE,)
    assert ADD_LOCALE.reasons == ("the server changes only metadata (INSTANT) (1 row)",)
    assert ADD_LOCALE.fixes == ()
    assert RENAME.verdicts == (Verdict.BREAKING,)
    assert TO_TEXT.verdicts == (Verdict.LOCKING,)
    assert TO_TEXT.reasons[0].startswith("the server refused INSTANT and INPLACE without a lock")
    assert "gh-ost" in TO_TEXT.fixes[0]


def test_the_headline_counts_and_names_the_server(mixed_report: MigrationsReport) -> None:
    assert mixed_report.headline() == (
        "3 statements in 4 pending migrations since v1.0.0, 5e6a7e02291f: 1 breaking, 1 locking "
        "(answered by MariaDB 10.11.19 (fargate-parity/mariadb:bookworm))"
    )


def test_the_json_file_holds_one_row_per_statement_and_the_server(
    mixed_report: MigrationsReport, tmp_path: Path
) -> None:
    written = json.loads(write_json(mixed_report, tmp_path / "reports" / "m.json").read_text())
    assert [row["verdicts"] for row in written["statements"]] == [
        ["safe"],
        ["breaking"],
        ["locking"],
    ]
    assert written["statements"][2]["algorithm"] == "COPY"
    assert written["statements"][1]["line"] == 15
    assert written["server"]["stand_in_for_mysql_8"] is True
    assert "MySQL 8.0 renames a column INSTANT only from 8.0.28" in " ".join(
        written["server"]["notes"]
    )
    assert written["allowed_breaking"] is None


def test_junit_has_one_test_per_pending_migration_failing_the_breaking_ones(
    mixed_report: MigrationsReport, tmp_path: Path
) -> None:
    suite = read_xml(write_junit(mixed_report, tmp_path / "j.xml"))
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == list(mixed_report.pending)
    failing = [name for name, case in cases.items() if case.find("failure") is not None]
    assert failing == ["2030_01_01_000000_rename_message.php"]
    assert cases["2030_01_01_000001_no_sql.php"].findtext("system-out") == "runs no SQL"
    assert suite.get("failures") == "1"


def test_with_the_refuse_policy_a_lock_on_a_big_table_fails_its_test_too(tmp_path: Path) -> None:
    report = report_of(ADD_LOCALE, TO_TEXT, on_locking=LockingAction.REFUSE)
    suite = read_xml(write_junit(report, tmp_path / "j.xml"))
    failing = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failing == ["2030_01_02_000000_bio_to_text.php"]


def test_a_lock_on_a_table_under_the_limit_is_not_over_it() -> None:
    small = report_of(replace(TO_TEXT, table_rows=10))
    assert small.locking
    assert small.locking_over_limit == ()


def test_the_step_summary_is_appended_when_ci_names_one(
    mixed_report: MigrationsReport, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    write_step_summary(mixed_report, {"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.startswith("earlier step\n### Migrations check (qa)")
    assert "<code>ALTER TABLE greetings CHANGE message body VARCHAR(255) NOT NULL</code>" in text
    assert "| 2030_01_02_000000_bio_to_text.php:14 | locking | COPY, locks |" in text


def test_no_step_summary_outside_ci(mixed_report: MigrationsReport, tmp_path: Path) -> None:
    write_step_summary(mixed_report, {})
    assert list(tmp_path.iterdir()) == []


def test_the_summary_escapes_what_markdown_tables_and_html_would_misread() -> None:
    pipe = replace(ADD_LOCALE, sql="select 'a|b' < 2")
    assert "<code>select &#x27;a&#124;b&#x27; &lt; 2</code>" in summary_markdown(report_of(pipe))


def test_an_allowed_deploy_is_recorded_with_its_id_and_reason(tmp_path: Path) -> None:
    allowed = AllowedBreaking(deploy_id="gh-42-1", reason="the old release is drained first")
    report = replace(report_of(RENAME), allowed_breaking=allowed)
    written = json.loads(write_json(report, tmp_path / "m.json").read_text())
    assert written["allowed_breaking"] == {
        "deploy_id": "gh-42-1",
        "reason": "the old release is drained first",
    }
    assert "allowed by deploy gh-42-1: the old release is drained first" in summary_markdown(report)
