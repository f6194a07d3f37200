"""Reports built by hand: one statement per verdict, as the check would produce them."""

from __future__ import annotations

import pytest

from parity.config.settings import LockingAction, MigrationPolicy
from parity.verify.migrations.classify import Breakage, StatementKind
from parity.verify.migrations.report import MigrationsReport, StatementVerdict
from parity.verify.migrations.server import Algorithm, ServerAnswer, ServerInfo

ADD_LOCALE = StatementVerdict(
    migration="2030_01_01_000000_add_locale.php",
    line=14,
    sql="alter table `greetings` add `locale` varchar(8) null",
    kind=StatementKind.ALTER_TABLE,
    table="greetings",
    answer=ServerAnswer(algorithm=Algorithm.INSTANT),
    table_rows=1,
)
RENAME = StatementVerdict(
    migration="2030_01_01_000000_rename_message.php",
    line=15,
    sql="ALTER TABLE greetings CHANGE message body VARCHAR(255) NOT NULL",
    kind=StatementKind.ALTER_TABLE,
    table="greetings",
    breakages=(
        Breakage(
            reason="renames greetings.message to body: the running release still uses message",
            fix="add body and write both columns now",
        ),
    ),
    answer=ServerAnswer(algorithm=Algorithm.INSTANT),
    table_rows=1,
)
TO_TEXT = StatementVerdict(
    migration="2030_01_02_000000_bio_to_text.php",
    line=14,
    sql="ALTER TABLE profiles CHANGE bio bio TEXT NOT NULL",
    kind=StatementKind.ALTER_TABLE,
    table="profiles",
    answer=ServerAnswer(algorithm=Algorithm.COPY, refusals=("INSTANT: 1846 …", "INPLACE: 1846 …")),
    table_rows=250_000,
)
MARIADB = ServerInfo(version="10.11.19-MariaDB-0+deb12u1", image="fargate-parity/mariadb:bookworm")


def report_of(
    *statements: StatementVerdict,
    on_locking: LockingAction = LockingAction.WARN,
    pending: tuple[str, ...] | None = None,
) -> MigrationsReport:
    return MigrationsReport(
        environment="qa",
        previous_release="v1.0.0, 5e6a7e02291f",
        server=MARIADB,
        pending=pending or tuple(dict.fromkeys(s.migration for s in statements)),
        statements=statements,
        policy=MigrationPolicy(lock_row_limit=100_000, on_locking=on_locking),
        duration_s=12.3,
    )


@pytest.fixture
def mixed_report() -> MigrationsReport:
    return report_of(
        ADD_LOCALE,
        RENAME,
        TO_TEXT,
        pending=(
            "2030_01_01_000000_add_locale.php",
            "2030_01_01_000000_rename_message.php",
            "2030_01_01_000001_no_sql.php",
            "2030_01_02_000000_bio_to_text.php",
        ),
    )
