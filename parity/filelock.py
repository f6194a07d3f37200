"""An exclusive ``flock`` on a lock file that says who holds it.

The kernel drops the lock when the process dies, so a crashed or ``kill -9``-ed run never
leaves a stale lock. Only the holder writes the file, so a refusal can name the holder.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


@contextmanager
def exclusive_lock(
    path: Path, *, refused: Callable[[str], Exception], holder: str = ""
) -> Iterator[Path]:
    """Hold the lock on ``path`` for the block, or raise ``refused(who holds it)`` at once.

    ``holder`` describes this run (default: its command line) next to its pid and start time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise refused(handle.read().strip() or "another process") from None
        try:
            handle.truncate(0)
            started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            what = holder or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
            handle.write(f"pid {os.getpid()}, {what}, started {started}")
            handle.flush()
            yield path
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
