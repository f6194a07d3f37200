"""The embedded emulator (moto) in a process of its own, with the relay containers reach it
through.

A dev run's containers call the emulator for as long as they run, and a detached run
(``invoke dev --detach``) outlives the ``invoke`` that started it; so the emulator cannot be a
thread of that ``invoke``. It runs as ``python -m parity.services.motoprocess``: tied to the run
(it dies with it, ``parity.childprocess``) or, when it must outlive the run, on its own and
recorded in the checkout's gitignored ``.local/emulator.json``, which ``invoke down`` and the
next run read to stop it. A process of its own also keeps moto's imports and requests off the
harness's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from parity import childprocess
from parity.config.settings import EmulatorKind
from parity.engine.ports import LOOPBACK_ADDRESS, claim_port
from parity.errors import HarnessError
from parity.services.emulator import Emulator, start_moto
from parity.services.relay import EmulatorRelay

RECORD = "emulator.json"
LOG = "emulator.log"
READY_TIMEOUT_S = 60.0
READY_POLL_S = 0.02
STOP_TIMEOUT_S = 5.0
# In the command line of every emulator process: how a recorded pid is known to be one.
MODULE = "parity.services.motoprocess"


def start_moto_process(
    *, region: str, port: int | None, state_dir: Path, outlives_run: bool
) -> Emulator:
    """Start moto in a process of its own on 127.0.0.1:``port`` (0 or None: a free one),
    logging to ``state_dir/emulator.log``.

    It returns at once: the emulator's first client waits until it listens. With
    ``outlives_run`` it is recorded in ``state_dir/emulator.json`` and keeps running after this
    process ends (``Emulator.detach``); otherwise it dies with this process.
    """
    bound = claim_port(port, purpose="the embedded AWS emulator (moto)")
    # Short and private: a socket path must fit in 108 bytes.
    relay = Path(tempfile.mkdtemp(prefix="parity-relay-"))
    ready = relay / "listening"
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--port",
        str(bound),
        "--relay",
        str(relay),
        "--ready",
        str(ready),
    ]
    if not outlives_run:
        command = childprocess.tied_command(command)
    state_dir.mkdir(parents=True, exist_ok=True)
    with (state_dir / LOG).open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    if outlives_run:
        (state_dir / RECORD).write_text(
            json.dumps({"pid": process.pid, "port": bound, "relay": str(relay)})
        )

    def wait_until_listening() -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.exists():
            if process.poll() is not None:
                raise HarnessError(
                    f"the embedded AWS emulator exited with {process.returncode} before it "
                    f"listened; see {state_dir / LOG}"
                )
            if time.monotonic() > deadline:
                stop_group(process.pid)
                raise HarnessError(
                    f"the embedded AWS emulator did not listen within {READY_TIMEOUT_S:.0f}s; "
                    f"see {state_dir / LOG}"
                )
            time.sleep(READY_POLL_S)
        ready.unlink(missing_ok=True)

    def stop() -> None:
        stop_group(process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
        wait_until_group_ended(process.pid)
        if outlives_run:  # a tied one has no record: the record there is another run's
            (state_dir / RECORD).unlink(missing_ok=True)
        shutil.rmtree(relay, ignore_errors=True)

    return Emulator(
        EmulatorKind.MOTO,
        f"http://{LOOPBACK_ADDRESS}:{bound}",
        region,
        stop,
        _until_listening=wait_until_listening,
        _relay_directory=relay,
        _outlives_run=outlives_run,
    )


def stop_recorded(state_dir: Path) -> bool:
    """Stop the emulator process recorded in ``state_dir`` (a detached run's), if it still
    runs; True when there was one."""
    record = state_dir / RECORD
    try:
        recorded = json.loads(record.read_text())
    except (OSError, ValueError):
        return False
    record.unlink(missing_ok=True)
    pid = int(recorded.get("pid", 0))
    if not pid or not is_emulator_process(pid):
        return False
    stop_group(pid)
    wait_until_group_ended(pid)
    shutil.rmtree(recorded.get("relay", ""), ignore_errors=True)
    return True


def is_emulator_process(pid: int) -> bool:
    """Whether ``pid`` is an emulator process (a recorded pid may have been reused since)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return MODULE.encode() in command and b"<defunct>" not in command


def stop_group(leader: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGTERM)


def wait_until_group_ended(leader: int) -> None:
    """Until no live process of the group is left (the server, not only its guard, has let go
    of its port), at most STOP_TIMEOUT_S. A zombie has let go: its parent may never reap it."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while group_alive(leader) and time.monotonic() < deadline:
        time.sleep(READY_POLL_S)


def group_alive(leader: int) -> bool:
    """Whether a process of group ``leader`` runs (is not a zombie), from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the command's closing parenthesis: state, ppid, pgrp, …
            state, _, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == leader and state != "Z":
                return True
    return False


def serve(*, port: int, relay: Path, ready: Path) -> None:
    """The emulator process: moto on ``port`` and the relay's socket in ``relay``; ``ready``
    is created once both listen. Runs until SIGTERM or SIGINT."""
    ending = {signal.SIGTERM, signal.SIGINT}
    # Blocked before any thread starts, so every thread inherits the mask and sigwait gets them.
    signal.pthread_sigmask(signal.SIG_BLOCK, ending)
    emulator = start_moto(region="", port=port)
    relay_server = EmulatorRelay(LOOPBACK_ADDRESS, port, directory=relay)
    ready.touch()
    signal.sigwait(ending)
    relay_server.stop()
    emulator.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog=MODULE)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--relay", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    arguments = parser.parse_args()
    serve(port=arguments.port, relay=arguments.relay, ready=arguments.ready)
