"""The dev loop's local database and commands: data that outlives `invoke down`, snapshots
across a migration, import and export, and `invoke exec`/`artisan` exit codes, on real
containers of one project copy."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import docker
import pytest

from parity.commands.db import (
    SNAPSHOTS,
    LocalDatabase,
    export_dump,
    import_dump,
    open_database,
    restore,
    snapshot,
)
from parity.commands.dev import DevOptions, DevSession, down, start_dev
from parity.commands.shell import exec_command, run_declared
from parity.config.settings import HarnessSettings
from parity.engine.baseimage import BASE_IMAGE
from parity.engine.labels import SCOPE_LABEL, TASK_LABEL, Scope, run_labels
from parity.errors import ConfigError
from parity.runtime.bringup import MIGRATION_TASK
from parity.runtime.localrun import data_volume_for, run_id_for
from parity.services.database import connect
from tests.integration.support import ProjectCopy

pytestmark = [pytest.mark.integration]
EMULATOR = HarnessSettings.from_environ().emulator
NOTES_MIGRATION = "2030_06_01_000000_create_notes_table"
NOTES_BODY = """<?php

use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Database\\Schema\\Blueprint;
use Illuminate\\Support\\Facades\\Schema;

return new class extends Migration
{
    public function up()
    {
        Schema::create('notes', function (Blueprint $table) {
            $table->id();
            $table->string('body');
        });
    }

    public function down()
    {
        Schema::dropIfExists('notes');
    }
};
"""


def start(project: ProjectCopy) -> DevSession:
    session = start_dev(
        project.root,
        DevOptions(port=0, detach=True, emulator=EMULATOR, emulator_port=0),
        HarnessSettings.from_environ(),
    )
    session.run.emulator.stop()
    return session


def query(database: LocalDatabase, sql: str) -> list[tuple[object, ...]]:
    with connect(database.container, database.settings) as session, session.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def tables(database: LocalDatabase) -> set[str]:
    return {str(row[0]) for row in query(database, "SHOW TABLES")}


def migrations(database: LocalDatabase) -> dict[str, int]:
    """Migration → the batch it ran in (Laravel's repository table)."""
    rows = query(database, "SELECT migration, batch FROM migrations")
    return {str(name): int(str(batch)) for name, batch in rows}


@pytest.fixture(scope="module")
def project(project_copy: ProjectCopy) -> Iterator[ProjectCopy]:
    down(project_copy.root, volumes=True)
    yield project_copy
    down(project_copy.root, volumes=True)


def test_the_data_survives_down_and_the_next_dev_runs_no_migration_again(
    project: ProjectCopy, docker_client: docker.DockerClient
) -> None:
    start(project)
    database = open_database(project.root)
    query(database, "INSERT INTO greetings (message) VALUES ('kept across down')")
    ran = migrations(database)
    assert ran
    assert set(ran.values()) == {1}
    down(project.root)
    volume = docker_client.volumes.get(data_volume_for(run_id_for(project.root)))
    assert volume.attrs["Labels"][SCOPE_LABEL] == Scope.DATA
    start(project)
    database = open_database(project.root)
    assert ("kept across down",) in query(database, "SELECT message FROM greetings")
    assert migrations(database) == ran  # nothing pending, so no new batch


def test_exec_and_the_declared_artisan_pass_exit_codes_through(project: ProjectCopy) -> None:
    start(project)
    assert exec_command(project.root, "laravel", ("sh", "-c", "exit 3")) == 3
    # The task's secrets reach the command (DB_PASSWORD is one), and artisan reaches the DB.
    assert exec_command(project.root, "laravel", ("sh", "-c", 'test -n "$DB_PASSWORD"')) == 0
    assert run_declared(project.root, "artisan", ("migrate:status",)) == 0
    assert run_declared(project.root, "artisan", ("no-such-command",)) != 0
    down(project.root)
    # No dev task runs: a one-off task of the migration task definition.
    assert exec_command(project.root, None, ("sh", "-c", 'test -n "$DB_PASSWORD" && exit 4')) == 4
    assert run_declared(project.root, "artisan", ("migrate:status",)) == 0


def test_an_export_imports_back_as_plain_and_as_gzipped_sql(project: ProjectCopy) -> None:
    database = open_database(project.root)
    query(database, "DELETE FROM greetings")
    query(database, "INSERT INTO greetings (message) VALUES ('exported')")
    gzipped = export_dump(project.root)
    assert gzipped.name.endswith(".sql.gz")
    assert b"exported" in gzip.decompress(gzipped.read_bytes())
    plain = export_dump(project.root, project.root / "dump.sql")
    assert b"CREATE TABLE" in plain.read_bytes()
    for dump in (gzipped, plain):
        query(database, "DELETE FROM greetings")
        assert query(database, "SELECT message FROM greetings") == []
        import_dump(project.root, dump)
        assert ("exported",) in query(database, "SELECT message FROM greetings")


def test_a_restore_brings_back_the_schema_before_a_migration_and_dev_runs_it_again(
    project: ProjectCopy, docker_client: docker.DockerClient
) -> None:
    start(project)
    before = snapshot(project.root, "before-notes")
    assert before.parent == project.root / SNAPSHOTS
    project.add_migration(NOTES_MIGRATION, NOTES_BODY)
    start(project)
    database = open_database(project.root)
    assert "notes" in tables(database)
    assert migrations(database)[NOTES_MIGRATION] == 2
    restore(project.root, "before-notes")
    assert "notes" not in tables(database)
    assert NOTES_MIGRATION not in migrations(database)
    start(project)
    assert "notes" in tables(database)
    assert NOTES_MIGRATION in migrations(database)


def test_a_snapshot_or_import_refuses_while_a_migration_task_runs(
    project: ProjectCopy, docker_client: docker.DockerClient
) -> None:
    run_id = run_id_for(project.root)
    task_name = f"parity-{Scope.DEV}-{run_id}-{MIGRATION_TASK}-test"
    migrating = docker_client.containers.run(
        BASE_IMAGE,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        labels={**run_labels(scope=Scope.DEV, run_id=run_id), TASK_LABEL: task_name},
    )
    try:
        with pytest.raises(ConfigError, match=r"a migration is running") as caught:
            snapshot(project.root, "during-migration")
        assert "\n" not in str(caught.value)
        assert not (project.root / SNAPSHOTS / "during-migration.sql.gz").exists()
        with pytest.raises(ConfigError, match=r"a migration is running"):
            import_dump(project.root, export_dump(project.root))
    finally:
        migrating.remove(force=True)
