"""Host mode: one LocalStack process in its own process group; runs a killed harness left."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from parity.console import note
from parity.engine.ports import claim_port
from parity.errors import PortInUse
from parity.services.localstack.install import HostInstall, exclusive_lock
from parity.services.localstack.settings import (
    AUTH_TOKEN_VARIABLE,
    OFFLINE_SETTINGS,
    STOP_GRACE_S,
    cache_root,
)


def host_command(install: HostInstall) -> list[str]:
    return [str(install.python), "-m", "localstack.runtime.main"]


def host_environment(environ: Mapping[str, str], *, port: int, state_dir: Path) -> dict[str, str]:
    # Host mode is the free edition: it has no use for the token, so it never sees it.
    environment = {name: value for name, value in environ.items() if name != AUTH_TOKEN_VARIABLE}
    environment.update(OFFLINE_SETTINGS)
    environment.update(
        GATEWAY_LISTEN=f"127.0.0.1:{port}",
        LOCALSTACK_HOST=f"127.0.0.1:{port}",
        # State and config of this start only, never ~/.localstack or a previous run's.
        FILESYSTEM_ROOT=str(state_dir / "filesystem"),
        CONFIG_DIR=str(state_dir / "config"),
    )
    return environment


@dataclass(frozen=True)
class RunDirectory:
    """One host start's files: ``localstack.log``, ``owner.json`` (which harness started which
    process) and the ``state`` dir. The log outlives stop() until the next start."""

    path: Path

    @property
    def log(self) -> Path:
        return self.path / "localstack.log"

    @property
    def owner(self) -> Path:
        return self.path / "owner.json"

    @property
    def state(self) -> Path:
        return self.path / "state"


def runs_root(environ: Mapping[str, str] = os.environ) -> Path:
    return cache_root(environ) / "localstack-runs"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_host_localstack(pid: int) -> bool:
    """True when ``pid`` runs LocalStack's host runtime (a reused pid is something else)."""
    # -ww: without a terminal ps cuts the command line to the screen width.
    result = subprocess.run(
        ["ps", "-ww", "-p", str(pid), "-o", "command="],
        capture_output=True,
        text=True,
        check=False,
    )
    return "localstack.runtime.main" in result.stdout


def remove_finished_runs(root: Path) -> None:
    """Drop the directories of earlier runs (their logs were kept until now, for reading).

    A run whose harness still lives is left alone; a LocalStack whose harness was killed is
    stopped first.
    """
    for run_dir in sorted(path for path in root.iterdir() if path.is_dir()):
        run = RunDirectory(run_dir)
        pid: int | None = None
        owner: int | None = None
        # No owner file: stopped cleanly. An unreadable one: nothing known to stop.
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            record = json.loads(run.owner.read_text())
            pid, owner = int(record["pid"]), int(record["owner"])
        if owner is not None and process_alive(owner):
            continue  # another harness's LocalStack, still in use
        if pid is not None and is_host_localstack(pid):
            note(f"stopping LocalStack (pid {pid}) left running by a killed run ({run.path})")
            terminate_group(pid, is_running=functools.partial(is_host_localstack, pid))
        shutil.rmtree(run.path, ignore_errors=True)


def terminate_group(
    pgid: int, *, is_running: Callable[[], bool], grace_s: float = STOP_GRACE_S
) -> None:
    """SIGTERM the process group; SIGKILL it when it is still running after ``grace_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while is_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_running():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


@dataclass
class HostProcess:
    """A LocalStack started on the host, in its own process group."""

    process: subprocess.Popen[bytes]
    run: RunDirectory

    @property
    def where(self) -> str:
        return f"log: {self.run.log}"

    def exit_reason(self) -> str | None:
        code = self.process.poll()
        return None if code is None else f"exit code {code}"

    def log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.run.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:  # once reaped, its pid may belong to another process
            terminate_group(self.process.pid, is_running=lambda: self.process.poll() is None)
            self.process.wait()
        self.run.owner.unlink(missing_ok=True)
        shutil.rmtree(self.run.state, ignore_errors=True)


def start_host_process(
    install: HostInstall, *, port: int | None, environ: Mapping[str, str] = os.environ
) -> tuple[HostProcess, int]:
    """Start ``python -m localstack.runtime.main`` on 127.0.0.1:``port`` (None/0: a free one)."""
    root = runs_root(environ)
    root.mkdir(parents=True, exist_ok=True)
    # Locked, so a harness starting at the same time never removes this run's directory.
    with exclusive_lock(root.with_name(f"{root.name}.lock")):
        remove_finished_runs(root)
        bound_port = claim_port(port, purpose="LocalStack")
        run = RunDirectory(root / str(bound_port))
        if run.path.exists():  # kept above: a live harness's LocalStack is starting there
            raise PortInUse(
                f"another harness's LocalStack is starting on port {bound_port}; "
                "wait for it or choose another port"
            )
        run.state.mkdir(parents=True)
        with run.log.open("wb") as log:
            process = subprocess.Popen(
                host_command(install),
                env=host_environment(environ, port=bound_port, state_dir=run.state),
                cwd=run.path,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # so stop() reaches every child it spawns
            )
        run.owner.write_text(json.dumps({"pid": process.pid, "owner": os.getpid()}))
    return HostProcess(process, run), bound_port
