"""One deploy per environment at a time on this machine: an exclusive ``flock`` on a lock file
(``parity.filelock``), so a crashed deploy never leaves a stale lock.

Deploys from elsewhere are kept apart by the backend (ECS refuses while a stack is
``*_IN_PROGRESS``) and by the GitHub workflows' concurrency groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from parity.errors import DeployLocked
from parity.filelock import exclusive_lock


def lock_file(environment: str, *, lock_dir: Path) -> Path:
    return lock_dir / f"deploy-{environment}.lock"


@contextmanager
def deploy_lock(environment: str, *, lock_dir: Path) -> Iterator[Path]:
    """Hold the environment's deploy lock for the block, or raise DeployLocked at once."""
    with exclusive_lock(
        lock_file(environment, lock_dir=lock_dir),
        refused=lambda holder: DeployLocked(
            f"a deploy of {environment} is already running ({holder}); wait for it to finish"
        ),
    ) as path:
        yield path
