"""``invoke db.*``: the checkout's local database, which outlives ``invoke down``.

Its data lives in a named volume (``parity.runtime.localrun.data_volume_for``). A snapshot is a
gzipped ``mysqldump`` of the app's database under ``.local/snapshots/`` (gitignored); a
restore drops the database, creates it empty and loads the dump, so tables and migrations the
snapshot did not have are gone too, and the next ``invoke dev`` re-runs those migrations
through the gate. Each command starts the DB when it is not running (with the dev run's
credentials), and a snapshot, restore or import refuses to run while a migration runs.
"""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker
from docker.models.containers import Container

from parity.config.settings import HarnessSettings
from parity.console import note, step
from parity.engine.execute import run_in_container
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, TASK_LABEL, Scope
from parity.errors import ConfigError
from parity.runtime.bringup import MIGRATION_TASK, bring_up, existing_app
from parity.runtime.localrun import database_settings, run_id_for
from parity.secretvalue import SecretValue
from parity.services.database import (
    DatabaseSettings,
    dump_database,
    load_database,
    reset_database,
)

SNAPSHOTS = Path(".local") / "snapshots"
EXPORTS = Path(".local") / "exports"
SNAPSHOT_SUFFIX = ".sql.gz"
_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LocalDatabase:
    container: Container
    settings: DatabaseSettings


@dataclass(frozen=True)
class Snapshot:
    name: str
    path: Path
    size_bytes: int
    taken_at: datetime


def open_database(project_root: Path) -> LocalDatabase:
    """The dev run's MySQL, started (on its data volume) when it is not running."""
    settings = HarnessSettings.for_project(project_root)
    built = existing_app(project_root, settings)
    run = bring_up(
        built,
        project_root=project_root,
        settings=settings,
        scope=Scope.DEV,
        emulator=settings.emulator,
        emulator_port=None,
    )
    run.emulator.stop()
    tasks = run.tasks
    return LocalDatabase(
        container=run.client.containers.get(run.context.db_host),
        settings=database_settings(tasks, run.secrets.of(tasks.migration), image=""),
    )


def refuse_during_migration(client: docker.DockerClient, project_root: Path) -> None:
    """One line, and nothing done, while this checkout's migration task runs."""
    run_id = run_id_for(project_root)
    prefix = f"parity-{Scope.DEV}-{run_id}-{MIGRATION_TASK}-"
    running = client.containers.list(
        filters={"label": [f"{SCOPE_LABEL}={Scope.DEV}", f"{RUN_LABEL}={run_id}"]}
    )
    if any(container.labels.get(TASK_LABEL, "").startswith(prefix) for container in running):
        raise ConfigError(
            "a migration is running against the local database; wait until `invoke dev` "
            "reports ready, then try again"
        )


def snapshot_path(project_root: Path, name: str) -> Path:
    if not _SNAPSHOT_NAME.match(name):
        raise ConfigError(
            f"snapshot name {name!r}: use letters, digits, '.', '_' and '-' (no '/', no spaces)"
        )
    return project_root / SNAPSHOTS / f"{name}{SNAPSHOT_SUFFIX}"


def snapshot(project_root: Path, name: str | None = None) -> Path:
    """Dump the local database into ``.local/snapshots/NAME.sql.gz`` (NAME: the time)."""
    path = snapshot_path(project_root, name or datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
    if path.exists():
        raise ConfigError(
            f"snapshot {path.name} exists; choose another name, or delete {path} first"
        )
    database = open_database(project_root)
    refuse_during_migration(database.container.client, project_root)
    write_dump(database, path)
    return path


def restore(project_root: Path, name: str) -> Path:
    """Replace the local database with a snapshot's content (schema and migrations too)."""
    path = snapshot_path(project_root, name)
    if not path.is_file():
        known = ", ".join(item.name for item in list_snapshots(project_root)) or "none"
        raise ConfigError(f"no snapshot {name!r} (snapshots: {known}); see `invoke db.list`")
    load_file(project_root, path, reset=True)
    return path


def import_dump(project_root: Path, file: Path) -> None:
    """Load a ``.sql`` or ``.sql.gz`` file into the local database (over what it holds)."""
    if not file.is_file():
        raise ConfigError(f"{file} does not exist; give a .sql or .sql.gz file")
    if not file.name.endswith((".sql", SNAPSHOT_SUFFIX)):
        raise ConfigError(f"{file.name}: give a .sql or .sql.gz file")
    load_file(project_root, file, reset=False)


def export_dump(project_root: Path, file: Path | None = None) -> Path:
    """Dump the local database into ``file`` (gzipped when it ends in .gz; default:
    ``.local/exports/DATABASE-TIME.sql.gz``)."""
    database = open_database(project_root)
    if file is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        file = project_root / EXPORTS / f"{database.settings.database}-{stamp}{SNAPSHOT_SUFFIX}"
    write_dump(database, file)
    return file


def list_snapshots(project_root: Path) -> list[Snapshot]:
    """The snapshots, oldest first."""
    folder = project_root / SNAPSHOTS
    found = [
        Snapshot(
            name=path.name.removesuffix(SNAPSHOT_SUFFIX),
            path=path,
            size_bytes=path.stat().st_size,
            taken_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        )
        for path in (folder.glob(f"*{SNAPSHOT_SUFFIX}") if folder.is_dir() else ())
    ]
    return sorted(found, key=lambda item: item.taken_at)


def shell(project_root: Path) -> int:
    """The mysql client on the local database as the app's user; its exit code."""
    database = open_database(project_root)
    settings = database.settings
    assert database.container.name is not None
    return run_in_container(
        database.container.name,
        ["sh", "-c", 'exec mysql -u"$PARITY_DB_USER" "$PARITY_DB_NAME"'],
        environment={
            "PARITY_DB_USER": SecretValue(settings.user),
            "PARITY_DB_NAME": SecretValue(settings.database),
            "MYSQL_PWD": SecretValue(settings.password),
        },
    )


def write_dump(database: LocalDatabase, path: Path) -> None:
    """The dump into ``path`` (gzip when it ends in .gz), through a temporary file so a failed
    dump leaves no half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    started = time.monotonic()
    try:
        with step(f"mysqldump {database.settings.database} into {path.name}"):
            if path.name.endswith(".gz"):
                with gzip.open(partial, "wb") as compressed:
                    dump_database(database.container, database.settings, compressed.write)
            else:
                with partial.open("wb") as plain:
                    dump_database(database.container, database.settings, plain.write)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    note(f"{path} ({path.stat().st_size / 1024:.0f} KiB, {time.monotonic() - started:.1f}s)")


def load_file(project_root: Path, path: Path, *, reset: bool) -> None:
    database = open_database(project_root)
    refuse_during_migration(database.container.client, project_root)
    what = "restore" if reset else "import"
    with step(f"{what} {path.name} into {database.settings.database}"):
        if reset:
            reset_database(database.container, database.settings)
        load_database(database.container, database.settings, read_chunks(path))


def read_chunks(path: Path) -> Iterator[bytes]:
    """The file's SQL, unzipped on the fly when it ends in .gz."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk
