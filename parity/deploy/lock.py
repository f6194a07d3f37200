"""One deploy per environment at a time on this machine: an exclusive ``flock`` on a lock file.

The kernel drops the lock when the process dies, so a crashed deploy never leaves a stale lock.
Deploys from elsewhere are kept apart by the backend (ECS refuses while a stack is
``*_IN_PROGRESS``) and by the GitHub workflows' concurrency groups.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from parity.errors import DeployLocked


def lock_file(environment: str, *, lock_dir: Path) -> Path:
    return lock_dir / f"deploy-{environment}.lock"


@contextmanager
def deploy_lock(environment: str, *, lock_dir: Path) -> Iterator[Path]:
    """Hold the environment's deploy lock for the block, or raise DeployLocked at once."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    path = lock_file(environment, lock_dir=lock_dir)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DeployLocked(
                f"a deploy of {environment} is already running ({holder}); wait for it to finish"
            ) from None
        try:
            # Only the holder writes, so the refusal above can say who holds the lock.
            handle.truncate(0)
            started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            handle.write(f"pid {os.getpid()}, started {started}")
            handle.flush()
            yield path
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
