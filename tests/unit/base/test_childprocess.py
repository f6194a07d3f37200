"""cdk's processes go with the run: ``kill -9`` of the harness takes the whole tree along."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from parity.childprocess import run_tied

# The harness runs the CLI the way synth does; the CLI starts a grandchild (as cdk starts node,
# and node the app) that would outlive a killed harness.
HARNESS = """
import sys
from pathlib import Path
from parity.assembly.synth import _run_cli
print("started", flush=True)
_run_cli(
    ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(300)' {sys.argv[1]} & wait"],
    cwd=Path.cwd(),
    what="cdk synth",
)
"""


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                arguments = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in arguments:
                found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], object], *, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_kill_9_of_the_harness_during_synth_takes_the_cli_and_its_children_along() -> None:
    marker = f"parity-test-{uuid.uuid4().hex}"
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, marker], stdout=subprocess.PIPE, text=True
    )
    assert harness.stdout is not None
    assert harness.stdout.readline().strip() == "started"
    assert wait_until(lambda: processes_with(marker)), "the grandchild never started"
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    assert wait_until(lambda: not processes_with(marker)), processes_with(marker)


def test_a_timeout_kills_the_tree_and_says_so() -> None:
    marker = f"parity-test-{uuid.uuid4().hex}"
    command = ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(300)' {marker} & wait"]
    with pytest.raises(subprocess.TimeoutExpired):
        run_tied(command, timeout=1, stdout=subprocess.PIPE)
    assert wait_until(lambda: not processes_with(marker)), processes_with(marker)


def test_the_output_and_exit_code_come_back() -> None:
    result = run_tied(["sh", "-c", "echo tied; exit 3"], stdout=subprocess.PIPE)
    assert (result.returncode, result.stdout) == (3, "tied\n")
