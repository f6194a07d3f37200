"""`invoke db.*` without Docker: snapshot names, the snapshot list and what an import accepts."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from parity.commands.db import (
    SNAPSHOTS,
    import_dump,
    list_snapshots,
    read_chunks,
    restore,
    snapshot_path,
)
from parity.errors import ConfigError


@pytest.mark.parametrize("name", ["../x", "a b", "", ".hidden", "a/b"])
def test_a_snapshot_name_that_could_leave_the_folder_is_refused_in_one_line(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ConfigError, match=r"snapshot name .*: use letters, digits") as caught:
        snapshot_path(tmp_path, name)
    assert "\n" not in str(caught.value)


def test_snapshots_live_in_the_gitignored_folder_and_list_oldest_first(tmp_path: Path) -> None:
    assert snapshot_path(tmp_path, "before-v2") == tmp_path / SNAPSHOTS / "before-v2.sql.gz"
    assert list_snapshots(tmp_path) == []
    folder = tmp_path / SNAPSHOTS
    folder.mkdir(parents=True)
    for age, name in ((200, "older"), (100, "newer")):
        path = folder / f"{name}.sql.gz"
        path.write_bytes(gzip.compress(b"SELECT 1;"))
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime - age))
    (folder / "notes.txt").write_text("not a snapshot")
    assert [item.name for item in list_snapshots(tmp_path)] == ["older", "newer"]
    assert ".local/" in (Path(__file__).resolve().parents[3] / ".gitignore").read_text()


def test_restoring_an_unknown_snapshot_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / SNAPSHOTS).mkdir(parents=True)
    (tmp_path / SNAPSHOTS / "v1.sql.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(ConfigError, match=r"no snapshot 'v2' \(snapshots: v1\)"):
        restore(tmp_path, "v2")


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.sql", r"does not exist"), ("dump.csv", r"dump\.csv: give a \.sql or \.sql\.gz")],
)
def test_an_import_takes_only_an_existing_sql_file(tmp_path: Path, name: str, message: str) -> None:
    if name != "missing.sql":
        (tmp_path / name).write_text("a,b")
    with pytest.raises(ConfigError, match=message):
        import_dump(tmp_path, tmp_path / name)


def test_a_gzipped_dump_is_read_unzipped_and_a_plain_one_as_it_is(tmp_path: Path) -> None:
    sql = b"CREATE TABLE t (id INT);\n" * 1000
    (tmp_path / "a.sql.gz").write_bytes(gzip.compress(sql))
    (tmp_path / "a.sql").write_bytes(sql)
    assert b"".join(read_chunks(tmp_path / "a.sql.gz")) == sql
    assert b"".join(read_chunks(tmp_path / "a.sql")) == sql
