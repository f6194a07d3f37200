"""Child processes that go with the run: ``kill -9`` of ``invoke`` takes them along.

A plain child (``cdk synth``, and the ``node`` and app processes it starts) outlives a killed
parent. ``run_tied`` starts the command under a small guard (this file, run as a script) that
leads a process group of its own. The guard asks the kernel for a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)`` on Linux; elsewhere it polls its parent id) and then kills the whole
group. When the caller gives up (a timeout, Ctrl-C), it kills the group itself.

Only the standard library is imported: the guard runs as ``python childprocess.py``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1
PARENT_POLL_S = 0.2


def run_tied(
    command: Sequence[str], *, timeout: float | None = None, **popen: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, text=True, ...)`` whose whole process tree ends with this
    process; ``subprocess.TimeoutExpired`` after ``timeout`` seconds, the tree killed first."""
    guard = tied_command(command)
    with subprocess.Popen(guard, start_new_session=True, text=True, **popen) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            kill_group(process.pid)
            process.wait()
            raise
        return subprocess.CompletedProcess(guard[3:], process.returncode, stdout, stderr)


def popen_tied(command: Sequence[str], *, cwd: Path) -> subprocess.Popen[str]:
    """A tied ``Popen`` with stdout and stderr on one line-buffered pipe, to stream from; the
    caller reads it and ``wait()``s (``kill_group(process.pid)`` when it gives up)."""
    return subprocess.Popen(
        tied_command(command),
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )


def tied_command(command: Sequence[str]) -> list[str]:
    """``command`` under the guard: started in a session of its own, its process group dies
    with this process."""
    return [sys.executable, str(Path(__file__).resolve()), str(os.getpid()), *command]


def kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def guard(parent: int, command: Sequence[str]) -> int:
    """Run ``command`` in this process group; kill the group when ``parent`` dies."""

    def end_everything(*_: object) -> None:
        kill_group(os.getpgrp())

    signal.signal(signal.SIGTERM, end_everything)
    if not ask_for_parent_death_signal():
        threading.Thread(target=watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the kernel could be asked
        end_everything()
    return subprocess.call(list(command))


def ask_for_parent_death_signal() -> bool:
    """SIGTERM to this process when its parent dies (Linux); False where that is not there."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0)


def watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(guard(int(sys.argv[1]), sys.argv[2:]))
