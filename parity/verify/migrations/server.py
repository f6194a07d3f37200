"""Ask the server how it runs each schema change, on a scratch copy of the tables.

Every table of the app's database (at the previous release's schema, rows included) is copied
into a scratch schema, and the pending statements run there in order, so each one meets the
schema the ones before it left. A change of a table that existed before is tried first with
``ALGORITHM=INSTANT``, then with ``ALGORITHM=INPLACE, LOCK=NONE``; when the server refuses
both, it runs as the server chooses, which copies the table under a lock (COPY). A statement
the server refuses outright (duplicate rows for a UNIQUE index, values that no longer fit) is
recorded with the server's message. The answer is the server's own, not a table of rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import pymysql

from parity.runtime.bringup import LocalRun
from parity.runtime.localrun import database_settings
from parity.services.database import DatabaseSettings, connect
from parity.verify.migrations.classify import Classification, StatementKind

SCRATCH_SCHEMA = "parity_scratch"
VERSION_NUMBER = re.compile(r"^\d+(?:\.\d+)*")
# What MySQL 8.0 and Aurora MySQL 3 do differently from the MariaDB stand-in, from the two
# servers' online DDL manuals (mysql:8.0 cannot be pulled here, so it was not tried).
MARIADB_DIFFERENCES = (
    "MariaDB also calls INPLACE without a table rebuild NOCOPY, and does some changes INSTANT "
    "that MySQL 8.0 does INPLACE (lengthening a VARCHAR, for one)",
    "MySQL 8.0 adds a column INSTANT anywhere and drops one INSTANT only from 8.0.29 (Aurora "
    "MySQL 3.05); 8.0.28 and older add INSTANT only as the last column and drop INPLACE",
    "MySQL 8.0 renames a column INSTANT only from 8.0.28 (Aurora MySQL 3.04); older ones "
    "rename INPLACE without a lock",
    "both copy the table under a lock to change a column's type, except to lengthen a VARCHAR "
    "or add ENUM/SET members at the end",
)


class Algorithm(StrEnum):
    INSTANT = "INSTANT"  # metadata only
    INPLACE = "INPLACE"  # online, LOCK=NONE: reads and writes go on
    COPY = "COPY"  # refused both: the table is rebuilt under a lock


@dataclass(frozen=True, kw_only=True)
class ServerInfo:
    version: str  # what SELECT VERSION() says
    image: str

    @property
    def product(self) -> str:
        return "MariaDB" if "mariadb" in self.version.lower() else "MySQL"

    @property
    def is_stand_in(self) -> bool:
        """The MariaDB image that stands in where mysql:8.0 cannot be pulled."""
        return self.product == "MariaDB"

    def describe(self) -> str:
        number = VERSION_NUMBER.match(self.version)
        return f"{self.product} {number[0] if number else self.version} ({self.image})"


@dataclass(frozen=True, kw_only=True)
class ServerAnswer:
    # None when the server refused the statement itself (``error``).
    algorithm: Algorithm | None
    # Why INSTANT, then INPLACE without a lock, were refused: the server's messages.
    refusals: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ServerSession:
    """A root session on the local MySQL (pymysql, autocommit)."""

    connection: pymysql.connections.Connection[pymysql.cursors.Cursor]

    def execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)

    def rows(self, sql: str, arguments: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(arguments) or None)
            return list(cursor.fetchall())

    def server_info(self, *, image: str) -> ServerInfo:
        return ServerInfo(version=str(self.rows("SELECT VERSION()")[0][0]), image=image)

    def tables(self, schema: str) -> list[str]:
        rows = self.rows(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [schema],
        )
        return [str(row[0]) for row in rows]

    def create_statements(self, schema: str) -> list[str]:
        """``SHOW CREATE TABLE`` of every table: the schema the migrations start from."""
        return [
            str(self.rows(f"SHOW CREATE TABLE {quoted(schema)}.{quoted(table)}")[0][1])
            for table in self.tables(schema)
        ]

    def migrations_ran(self, *, table: str) -> set[str]:
        """What the migration repository ``table`` holds (file names without their suffix)."""
        try:
            return {str(row[0]) for row in self.rows(f"SELECT migration FROM {quoted(table)}")}  # noqa: S608
        except pymysql.MySQLError:  # no repository yet: no migration ran
            return set()

    def row_counts(self, schema: str) -> dict[str, int]:
        counts = {}
        for table in self.tables(schema):
            # Identifiers come from information_schema and are backtick-quoted.
            count = self.rows(f"SELECT COUNT(*) FROM {quoted(schema)}.{quoted(table)}")  # noqa: S608
            counts[table] = int(str(count[0][0]))
        return counts


@contextmanager
def root_session(run: LocalRun) -> Iterator[tuple[ServerSession, DatabaseSettings]]:
    """A root session on the run's MySQL, and the app database's settings (its name)."""
    database = run.context.client.containers.get(run.context.db_host)
    settings = database_settings(
        run.tasks,
        run.secrets.of(run.tasks.migration),
        image=str(database.attrs["Config"]["Image"]),
    )
    connection = connect(database, settings, as_root=True)
    try:
        yield ServerSession(connection=connection), settings
    finally:
        connection.close()


def quoted(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


@contextmanager
def scratch_copy(session: ServerSession, *, source: str) -> Iterator[str]:
    """A copy of every table of ``source`` (structure and rows) in a scratch schema, which is
    the session's default schema until the block ends; then it is dropped."""
    scratch = quoted(SCRATCH_SCHEMA)
    session.execute(f"DROP DATABASE IF EXISTS {scratch}")
    session.execute(f"CREATE DATABASE {scratch}")
    try:
        for table in session.tables(source):
            copy, original = f"{scratch}.{quoted(table)}", f"{quoted(source)}.{quoted(table)}"
            session.execute(f"CREATE TABLE {copy} LIKE {original}")
            session.execute(f"INSERT INTO {copy} SELECT * FROM {original}")  # noqa: S608
        session.execute(f"USE {scratch}")
        yield SCRATCH_SCHEMA
    finally:
        session.execute(f"USE {quoted(source)}")
        session.execute(f"DROP DATABASE IF EXISTS {scratch}")


def confirm_with_server(
    session: ServerSession, statements: Sequence[Classification], *, source: str
) -> list[ServerAnswer | None]:
    """Run the statements in order on a scratch copy of ``source``; for each one that
    changes a table that existed before, the algorithm the server accepted (None for the
    others)."""
    answers: list[ServerAnswer | None] = []
    with scratch_copy(session, source=source):
        for statement in statements:
            if statement.asks_server:
                answers.append(try_algorithms(session, statement))
            else:
                keep_in_step(session, statement)
                answers.append(None)
    return answers


def try_algorithms(session: ServerSession, statement: Classification) -> ServerAnswer:
    """INSTANT, then INPLACE without a lock, then as the server chooses (a locking copy)."""
    refusals: list[str] = []
    for algorithm, clause in (
        (Algorithm.INSTANT, "ALGORITHM=INSTANT"),
        (Algorithm.INPLACE, "ALGORITHM=INPLACE, LOCK=NONE"),
    ):
        refusal = attempt(session, with_clause(statement, clause))
        if refusal is None:
            return ServerAnswer(algorithm=algorithm, refusals=tuple(refusals))
        refusals.append(f"{algorithm}: {refusal}")
    error = attempt(session, statement.sql)
    if error is not None:
        return ServerAnswer(algorithm=None, refusals=tuple(refusals), error=error)
    return ServerAnswer(algorithm=Algorithm.COPY, refusals=tuple(refusals))


def keep_in_step(session: ServerSession, statement: Classification) -> None:
    """Run a statement the server is not asked about, so later ones see its effect; data
    changes are skipped (pretend prints them with ``?`` for their values)."""
    if statement.kind is not StatementKind.DATA:
        attempt(session, statement.sql)


def with_clause(statement: Classification, clause: str) -> str:
    """``ALTER TABLE t …, ALGORITHM=…``; ``CREATE INDEX … ALGORITHM=…`` takes no comma."""
    sql = statement.sql.rstrip().rstrip(";")
    if statement.kind is StatementKind.CREATE_INDEX:
        return f"{sql} {clause.replace(',', '')}"
    return f"{sql}, {clause}"


def attempt(session: ServerSession, sql: str) -> str | None:
    """None when the server ran ``sql``; else its error, ``code message``."""
    try:
        session.execute(sql)
    except pymysql.MySQLError as error:
        return " ".join(str(part) for part in error.args) or type(error).__name__
    return None
