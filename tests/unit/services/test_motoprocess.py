"""The embedded emulator in a process of its own: it serves, it dies with its run unless it is
to outlive it, and a recorded one is stopped by whoever finds the record."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.errors import PortInUse
from parity.services.motoprocess import (
    RECORD,
    is_emulator_process,
    start_moto_process,
    stop_recorded,
)

GONE_WITHIN_S = 10.0


def gone(pid: int) -> bool:
    deadline = time.monotonic() + GONE_WITHIN_S
    while is_emulator_process(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not is_emulator_process(pid)


def emulator_pids() -> set[int]:
    found = subprocess.run(
        ["pgrep", "-f", "parity.services.motoprocess"], capture_output=True, text=True, check=False
    )
    return {int(pid) for pid in found.stdout.split()}


def test_a_tied_emulator_serves_then_stops_with_its_relay_and_leaves_no_record(
    tmp_path: Path,
) -> None:
    before = emulator_pids()
    emulator = start_moto_process(
        region="eu-west-1", port=None, state_dir=tmp_path, outlives_run=False
    )
    try:
        secrets = emulator.client("secretsmanager")
        secrets.create_secret(Name="app/db", SecretString="value")
        assert secrets.get_secret_value(SecretId="app/db")["SecretString"] == "value"
        relay = emulator.relay_directory()
        assert (relay / "emulator.sock").is_socket()
        assert not (tmp_path / RECORD).exists()
    finally:
        emulator.detach()  # not to outlive the run: detach stops it
    assert not relay.exists()
    # Its processes are gone (its port may already serve another run: free ports are reused).
    assert emulator_pids() <= before


def test_one_to_outlive_the_run_keeps_running_after_detach_until_its_record_is_stopped(
    tmp_path: Path,
) -> None:
    emulator = start_moto_process(
        region="eu-west-1", port=None, state_dir=tmp_path, outlives_run=True
    )
    emulator.client("sts").get_caller_identity()
    pid = json.loads((tmp_path / RECORD).read_text())["pid"]
    emulator.detach()
    assert is_emulator_process(pid)
    assert emulator.client("sts").get_caller_identity()["Account"]
    assert stop_recorded(tmp_path)
    assert gone(pid)
    assert not (tmp_path / RECORD).exists()
    assert not stop_recorded(tmp_path), "a second stop finds nothing"


def test_a_record_whose_pid_is_no_emulator_stops_nothing(tmp_path: Path) -> None:
    (tmp_path / RECORD).write_text(json.dumps({"pid": os.getpid(), "port": 1, "relay": ""}))
    assert not stop_recorded(tmp_path)
    assert not (tmp_path / RECORD).exists()


def test_a_taken_port_fails_before_any_process_starts(tmp_path: Path) -> None:
    before = emulator_pids()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port}"):
            start_moto_process(
                region="eu-west-1", port=port, state_dir=tmp_path, outlives_run=False
            )
    assert emulator_pids() == before


def test_a_tied_emulator_dies_when_its_run_is_killed(tmp_path: Path) -> None:
    # A run that starts a tied emulator, says its endpoint, and is then killed with SIGKILL.
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from parity.services.motoprocess import start_moto_process\n"
        "e = start_moto_process(region='eu-west-1', port=None, state_dir=Path(sys.argv[1]),"
        " outlives_run=False)\n"
        "e.client('sts').get_caller_identity()\n"
        "print(e.endpoint_url, flush=True)\n"
        "time.sleep(300)\n"
    )
    before = emulator_pids()
    run = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert run.stdout is not None
    assert run.stdout.readline().startswith("http://127.0.0.1:")
    started = emulator_pids() - before
    assert started
    run.kill()
    run.wait()
    assert all(gone(pid) for pid in started)


def test_a_tied_emulator_stopping_leaves_the_record_of_a_detached_one_beside_it(
    tmp_path: Path,
) -> None:
    # `invoke db.shell` or a local deploy next to a detached dev run of the same checkout.
    detached = start_moto_process(
        region="eu-west-1", port=None, state_dir=tmp_path, outlives_run=True
    )
    try:
        tied = start_moto_process(
            region="eu-west-1", port=None, state_dir=tmp_path, outlives_run=False
        )
        tied.client("sts").get_caller_identity()
        tied.stop()
        pid = json.loads((tmp_path / RECORD).read_text())["pid"]
        assert is_emulator_process(pid)
    finally:
        detached.stop()
    assert gone(pid)
