"""Host mode's virtualenv: localstack-core installed once under the user cache, then stamped."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from parity.console import console, last_line, note
from parity.errors import HarnessError
from parity.services.localstack.settings import HOST_REQUIREMENTS, LOCALSTACK_VERSION, cache_root

InstallProgress = Callable[[str], None]  # shows the install's latest output line


class StepRunner(Protocol):
    """Runs one install command, appending its output to ``log``; raises HarnessError."""

    def __call__(self, command: Sequence[str], log: Path, progress: InstallProgress) -> None: ...


@dataclass(frozen=True)
class HostInstall:
    """Where localstack-core lives on this machine, and whether it is installed there."""

    root: Path
    python_version: str = f"{sys.version_info.major}.{sys.version_info.minor}"

    @classmethod
    def default(cls) -> HostInstall:
        return cls(cache_root() / f"localstack-{LOCALSTACK_VERSION}")

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def stamp(self) -> Path:
        return self.root / "parity-install.json"

    @property
    def lock(self) -> Path:
        return self.root.parent / f"{self.root.name}.lock"

    @property
    def log(self) -> Path:
        return self.root.parent / "logs" / f"{self.root.name}-install.log"

    @property
    def fingerprint(self) -> str:
        """What the stamp holds: a change of pins or Python version means a new install."""
        return json.dumps(
            {"requirements": list(HOST_REQUIREMENTS), "python": self.python_version},
            sort_keys=True,
        )

    def is_current(self) -> bool:
        try:
            stamped = self.stamp.read_text()
        except OSError:
            return False
        # exists() follows the symlink: a removed base interpreter breaks the venv.
        return stamped == self.fingerprint and self.python.exists()

    def commands(self) -> list[list[str]]:
        # venv uses the base interpreter even when sys.executable is the project's venv.
        return [
            [sys.executable, "-m", "venv", str(self.root)],
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
                *HOST_REQUIREMENTS,
            ],
        ]


def ensure_host_install(install: HostInstall, *, run: StepRunner | None = None) -> None:
    """Install localstack-core into ``install.root`` unless the stamp says it is there."""
    if install.is_current():
        return
    install.root.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(install.lock):
        if install.is_current():  # another harness finished it while we waited
            return
        note(
            f"installing LocalStack {LOCALSTACK_VERSION} into {install.root} "
            "(first run only, about 5 minutes)"
        )
        started = time.monotonic()
        shutil.rmtree(install.root, ignore_errors=True)  # what an interrupted install left
        install.log.parent.mkdir(parents=True, exist_ok=True)
        install.log.write_text("")
        headline = f"installing LocalStack {LOCALSTACK_VERSION}"
        with console.status(f"{headline}…") as status:
            for command in install.commands():
                (run or run_logged_step)(
                    command,
                    install.log,
                    lambda line: status.update(f"{headline}: {line[:70]}"),
                )
        install.stamp.write_text(install.fingerprint)
    console.print(
        f"[green]✓[/] installed LocalStack {LOCALSTACK_VERSION} "
        f"({time.monotonic() - started:.0f}s, log: {install.log})"
    )


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """One holder at a time across processes (two test sessions may start together)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_logged_step(command: Sequence[str], log: Path, progress: InstallProgress) -> None:
    with log.open("a") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            output.write(line)
            if line.strip():
                progress(line.strip())
        returncode = process.wait()
    if returncode != 0:
        raise HarnessError(
            f"`{' '.join(command[:4])} …` failed with exit {returncode}: {last_line(log)} "
            f"(full log: {log}); fix that and re-run, the install starts over"
        )
