"""The per-environment deploy lock: exclusive, self-describing, and gone with its process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parity.deploy.lock import deploy_lock, lock_file
from parity.errors import DeployLocked

HOLD_LOCK = """
import sys, time
from pathlib import Path
from parity.deploy.lock import deploy_lock
with deploy_lock("qa", lock_dir=Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_holder_is_refused_and_told_who_holds_it(tmp_path: Path) -> None:
    with deploy_lock("qa", lock_dir=tmp_path) as path:
        assert path == lock_file("qa", lock_dir=tmp_path) == tmp_path / "deploy-qa.lock"
        refused = pytest.raises(DeployLocked, match=rf"already running \(pid {os.getpid()}, ")
        with refused, deploy_lock("qa", lock_dir=tmp_path):
            pass  # pragma: no cover


def test_environments_lock_independently(tmp_path: Path) -> None:
    with deploy_lock("qa", lock_dir=tmp_path), deploy_lock("prod", lock_dir=tmp_path):
        pass


def test_released_on_exit_even_after_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), deploy_lock("qa", lock_dir=tmp_path):
        raise RuntimeError("deploy failed")

    with deploy_lock("qa", lock_dir=tmp_path):
        pass
    assert (tmp_path / "deploy-qa.lock").read_text() == ""


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        refused = pytest.raises(DeployLocked, match=rf"pid {holder.pid}")
        with refused, deploy_lock("qa", lock_dir=tmp_path):
            pass  # pragma: no cover
    finally:
        holder.kill()
        holder.wait()

    with deploy_lock("qa", lock_dir=tmp_path):
        pass
