"""The order the server is asked in, and how its refusals read: a scripted session, no Docker."""

from __future__ import annotations

from dataclasses import dataclass, field

import pymysql
import pytest

from parity.verify.migrations.classify import Classification, StatementKind
from parity.verify.migrations.server import Algorithm, ServerAnswer, ServerInfo, try_algorithms

NOT_SUPPORTED = (1846, "ALGORITHM=INSTANT is not supported. Reason: Cannot change column type")
ALTER = Classification(
    sql="ALTER TABLE profiles MODIFY code VARCHAR(8) NOT NULL;",
    kind=StatementKind.ALTER_TABLE,
    table="profiles",
    asks_server=True,
)


@dataclass
class ScriptedSession:
    """Refuses every statement that contains one of ``refused``'s keys, with its error."""

    refused: dict[str, tuple[int, str]]
    ran: list[str] = field(default_factory=list)

    def execute(self, sql: str) -> None:
        self.ran.append(sql)
        for needle, error in self.refused.items():
            if needle in sql:
                raise pymysql.err.OperationalError(*error)


def test_instant_is_tried_first_and_taken_when_accepted() -> None:
    session = ScriptedSession(refused={})
    assert try_algorithms(session, ALTER) == ServerAnswer(algorithm=Algorithm.INSTANT)
    assert session.ran == [
        "ALTER TABLE profiles MODIFY code VARCHAR(8) NOT NULL, ALGORITHM=INSTANT"
    ]


def test_inplace_without_a_lock_comes_next() -> None:
    session = ScriptedSession(refused={"INSTANT": NOT_SUPPORTED})
    answer = try_algorithms(session, ALTER)
    assert answer.algorithm is Algorithm.INPLACE
    assert answer.refusals == (
        "INSTANT: 1846 ALGORITHM=INSTANT is not supported. Reason: Cannot change column type",
    )
    assert session.ran[-1].endswith(", ALGORITHM=INPLACE, LOCK=NONE")


def test_refusing_both_means_a_locking_copy() -> None:
    session = ScriptedSession(refused={"INSTANT": NOT_SUPPORTED, "INPLACE": NOT_SUPPORTED})
    answer = try_algorithms(session, ALTER)
    assert answer.algorithm is Algorithm.COPY
    assert len(answer.refusals) == 2
    assert session.ran[-1] == ALTER.sql, "the copy runs the statement as the migration would"


def test_a_statement_the_rows_refuse_is_recorded_with_the_servers_message() -> None:
    duplicate = (1062, "Duplicate entry 'ADA-1' for key 'profiles_code_unique'")
    session = ScriptedSession(refused={"INSTANT": NOT_SUPPORTED, "profiles": duplicate})
    answer = try_algorithms(session, ALTER)
    assert answer.algorithm is None
    assert answer.error == "1062 Duplicate entry 'ADA-1' for key 'profiles_code_unique'"


def test_create_index_takes_its_algorithm_without_a_comma() -> None:
    session = ScriptedSession(refused={"INSTANT": NOT_SUPPORTED})
    index = Classification(
        sql="create index `profiles_name_index` on `profiles` (`name`)",
        kind=StatementKind.CREATE_INDEX,
        table="profiles",
        asks_server=True,
    )
    try_algorithms(session, index)
    assert session.ran == [
        "create index `profiles_name_index` on `profiles` (`name`) ALGORITHM=INSTANT",
        "create index `profiles_name_index` on `profiles` (`name`) ALGORITHM=INPLACE LOCK=NONE",
    ]


@pytest.mark.parametrize(
    ("version", "described", "stand_in"),
    [
        (
            "10.11.19-MariaDB-0+deb12u1",
            "MariaDB 10.11.19 (fargate-parity/mariadb:bookworm)",
            True,
        ),
        ("8.0.40", "MySQL 8.0.40 (fargate-parity/mariadb:bookworm)", False),
    ],
)
def test_the_report_names_the_server_that_answered(
    version: str, described: str, stand_in: bool
) -> None:
    server = ServerInfo(version=version, image="fargate-parity/mariadb:bookworm")
    assert server.describe() == described
    assert server.is_stand_in is stand_in
