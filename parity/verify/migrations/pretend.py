"""The SQL each pending migration would run, as Laravel prints it with ``migrate --pretend``.

The migration task's own container runs its own command with the ``pretend_arguments`` of
fargate-parity.toml's ``migrations_check`` added, against a database at the previous release's
schema; Laravel then prints every statement each pending migration would run, per migration,
without running it (Doctrine's ``->change()`` still reads the live table, which is why the
schema must be the previous release's). The migration files are read from the same image
(``migrations_dir``), to name the file and line each statement comes from.

Two output shapes are read: Laravel 8's ``name: SQL`` lines, and Laravel 9's and later
``name ....`` followed by ``⇂ SQL`` bullets. A statement may span several lines.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import secrets as random_tokens
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlglot
from sqlglot import TokenType

from parity.assembly.apptasks import AppTasks
from parity.config.harness import CONFIG_FILE, MIGRATIONS_CHECK_KEY, MigrationsCheckConfig
from parity.engine.images import image_working_directory, read_image_directory
from parity.errors import ConfigError
from parity.runtime.bringup import LocalRun
from parity.runtime.localrun import run_migration
from parity.verify.migrations.classify import DIALECT, split_statements
from parity.verify.previous import PreviousVersion, with_previous_images

BULLET = "⇂"
NAMED_CLASS = re.compile(r"^\s*class\s+(?P<name>\w+)\s+extends\b", re.MULTILINE)
UP_METHOD = re.compile(r"\bfunction\s+up\s*\(")
DOWN_METHOD = re.compile(r"\bfunction\s+down\s*\(")
COMMENT_PREFIXES = ("//", "#", "*", "/*")
WHITESPACE = re.compile(r"\s+")
IDENTIFIER_TOKENS = frozenset({TokenType.IDENTIFIER, TokenType.VAR})


@dataclass(frozen=True, kw_only=True)
class PendingStatement:
    migration: str  # the migration's file name
    line: int | None  # the line of the file that asks for it (None: not found)
    sql: str


@dataclass(frozen=True, kw_only=True)
class MigrationFile:
    file_name: str
    source: str

    @property
    def names(self) -> frozenset[str]:
        """What Laravel calls it in its output: the file name without its suffix for an
        anonymous class, else the class name."""
        stem = PurePosixPath(self.file_name).stem
        named = NAMED_CLASS.search(self.source)
        return frozenset({stem, named["name"]} if named else {stem})


@dataclass(frozen=True, kw_only=True)
class PendingSql:
    statements: tuple[PendingStatement, ...]
    # Every migration file of the new release, pending or not.
    files: tuple[MigrationFile, ...]


def pending_sql(
    run: LocalRun, *, previous: PreviousVersion, config: MigrationsCheckConfig, timeout_s: float
) -> PendingSql:
    """Bring the run's fresh MySQL to the previous release's schema with its own migration
    task, then run the new release's pretending and read what it prints."""
    context, tasks = run.context, run.tasks
    run_migration(
        context,
        with_previous_images(tasks, previous.images),
        run.secrets,
        task_name=run.task_name("previous-migration", random_tokens.token_hex(2)),
        timeout_s=timeout_s,
        what=f"the previous release's ({previous.release.describe()}) migration task",
    )
    output: list[str] = []

    def collect(container: str, line: str) -> None:
        if container == tasks.watched_container:
            output.append(line)

    run_migration(
        context,
        pretend_tasks(tasks, config),
        run.secrets,
        task_name=run.task_name("pretend", random_tokens.token_hex(2)),
        timeout_s=timeout_s,
        what=f"the new release's migration task with {' '.join(config.pretend_arguments)}",
        log_sink=collect,
    )
    files = tuple(read_migration_files(run, config))
    return PendingSql(statements=tuple(pending_statements(output, files)), files=files)


def read_migration_files(run: LocalRun, config: MigrationsCheckConfig) -> list[MigrationFile]:
    """The migration files in the new release's migration image, by file name."""
    client = run.context.client
    spec = run.tasks.migration.container(run.tasks.watched_container)
    working_directory = spec.working_directory or image_working_directory(client, spec.image)
    directory = str(PurePosixPath(working_directory) / config.migrations_dir)
    sources = read_image_directory(client, spec.image, directory, labels=run.context.labels)
    files = [
        MigrationFile(file_name=name, source=text)
        for name, text in sorted(sources.items())
        if fnmatch.fnmatchcase(name, config.files)
    ]
    if not files:
        raise ConfigError(
            f"{directory} in {spec.image} holds no file matching {config.files!r}; fix"
            f" {CONFIG_FILE}'s {MIGRATIONS_CHECK_KEY}.migrations_dir or .files"
        )
    return files


def pretend_tasks(tasks: AppTasks, config: MigrationsCheckConfig) -> AppTasks:
    """The app's tasks with the pretend arguments added to the migration container's command."""
    spec = tasks.migration.container(tasks.watched_container)
    if not spec.command:
        raise ConfigError(
            f"the migration container {spec.name} runs its image's CMD, so {CONFIG_FILE}'s"
            f" {MIGRATIONS_CHECK_KEY}.pretend_arguments have no command to go on; give the"
            " container its command in the CDK app"
        )
    pretending = dataclasses.replace(spec, command=(*spec.command, *config.pretend_arguments))
    containers = tuple(pretending if c.name == spec.name else c for c in tasks.migration.containers)
    return dataclasses.replace(
        tasks, migration=dataclasses.replace(tasks.migration, containers=containers)
    )


def pending_statements(
    output: Iterable[str], files: Iterable[MigrationFile]
) -> list[PendingStatement]:
    """The statements in Laravel's pretend output, each with its migration file and line."""
    by_name = {name: file for file in files for name in file.names}
    entries = parse_pretend_output(output, names=by_name.keys())
    statements: list[PendingStatement] = []
    for name in dict.fromkeys(name for name, _ in entries):
        file = by_name[name]
        sqls = [
            statement
            for entry_name, sql in entries
            if entry_name == name
            for statement in split_statements(sql)
        ]
        lines = statement_lines(sqls, file.source)
        statements += [
            PendingStatement(migration=file.file_name, line=line, sql=sql)
            for sql, line in zip(sqls, lines, strict=True)
        ]
    return statements


def parse_pretend_output(lines: Iterable[str], *, names: Iterable[str]) -> list[tuple[str, str]]:
    """(migration name, SQL) in output order. A line that starts no statement continues the
    one before it (a multi-line ``DB::statement``)."""
    known = sorted(names, key=len, reverse=True)
    entries: list[tuple[str, list[str]]] = []
    current: str | None = None
    for raw in lines:
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        named = next((n for n in known if stripped.startswith(f"{n}: ")), None)
        if named is not None:  # Laravel 8: "name: SQL"
            current = named
            entries.append((named, [stripped[len(named) + 2 :]]))
        elif stripped.startswith(BULLET) and current is not None:  # Laravel 9+: "⇂ SQL"
            entries.append((current, [stripped.removeprefix(BULLET).strip()]))
        elif header := next((n for n in known if is_header(stripped, n)), None):
            current = header  # Laravel 9+: "name ........ DONE"
        elif entries and current is not None:
            entries[-1][1].append(line)
    return [(name, "\n".join(parts).strip()) for name, parts in entries]


def is_header(line: str, name: str) -> bool:
    rest = line.removeprefix(name)
    return rest != line and (not rest or rest[0] in " .")


# -- where in the file a statement comes from ----------------------------------------------


def statement_lines(statements: Sequence[str], source: str) -> list[int | None]:
    """For each statement one migration runs (in order), the 1-based line of its ``up()``
    that asks for it: the line holding the raw SQL, else the first line from the previous
    statement's on that quotes a name the statement uses (the column, then the table)."""
    lines = source.splitlines()
    start, end = up_method_span(lines)
    cursor = start
    found: list[int | None] = []
    for sql in statements:
        index = find_line(sql, lines, start=cursor, end=end)
        if index is None:
            index = find_line(sql, lines, start=start, end=end)
        if index is not None:
            cursor = index
        found.append(index + 1 if index is not None else (start + 1 if lines else None))
    return found


def up_method_span(lines: Sequence[str]) -> tuple[int, int]:
    """[start, end) of ``up()``: from its ``function up(`` line to ``function down(``."""
    start = next((i for i, line in enumerate(lines) if UP_METHOD.search(line)), 0)
    end = next(
        (i for i, line in enumerate(lines) if i > start and DOWN_METHOD.search(line)), len(lines)
    )
    return start, end


def find_line(sql: str, lines: Sequence[str], *, start: int, end: int) -> int | None:
    code = [
        (i, lines[i])
        for i in range(start, end)
        if not lines[i].strip().startswith(COMMENT_PREFIXES)
    ]
    first_line = normalized(sql.splitlines()[0]) if sql.strip() else ""
    for index, text in code:
        if first_line and first_line in normalized(text):
            return index
    for name in searched_names(sql):
        quoted = (f"'{name}'", f'"{name}"')
        for index, text in code:
            if any(q in text for q in quoted):
                return index
    return None


def searched_names(sql: str) -> list[str]:
    """The identifiers a statement names, in order, with an ALTER's table moved last (the
    column names the line it comes from better)."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    except Exception:  # sqlglot's TokenError: no names to search for
        return []
    names = list(dict.fromkeys(t.text for t in tokens if t.token_type in IDENTIFIER_TOKENS))
    if tokens and tokens[0].token_type == TokenType.ALTER and names:
        names = [*names[1:], names[0]]
    return names


def normalized(text: str) -> str:
    return WHITESPACE.sub(" ", text).strip().lower()
