"""A command in a running container, the way a developer types ``docker exec -it``.

The docker CLI does the terminal work (raw mode, window size, signals), so the command gets a
TTY exactly when this process's stdin is one. Values the container's config must not hold (the
task's secrets, a DB password) reach the command as ``-e NAME``: the CLI takes the value from
its own environment, so it is in no argv and no container config (``docker inspect`` shows
neither it nor the exec's environment). The command's exit code is returned as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

from parity.errors import EngineUnavailable
from parity.secretvalue import SecretValue


def exec_argv(
    docker: str, container: str, command: Sequence[str], *, names: Sequence[str], tty: bool
) -> list[str]:
    """``docker exec -i [-t] [-e NAME]… CONTAINER COMMAND…``."""
    return [
        docker,
        "exec",
        "-i",
        *(["-t"] if tty else []),
        *(argument for name in names for argument in ("-e", name)),
        container,
        *command,
    ]


def run_in_container(
    container: str,
    command: Sequence[str],
    *,
    environment: Mapping[str, SecretValue],
    tty: bool | None = None,
) -> int:
    """Run ``command`` in the running ``container`` with ``environment`` added; its exit code.
    ``tty`` None: a TTY when stdin is one."""
    docker = shutil.which("docker")
    if docker is None:
        raise EngineUnavailable("the docker CLI is not on PATH; `invoke engine` installs it")
    interactive = sys.stdin.isatty() if tty is None else tty
    values = {name: value.reveal() for name, value in environment.items()}
    result = subprocess.run(
        exec_argv(docker, container, command, names=sorted(values), tty=interactive),
        env={**os.environ, **values},
        check=False,
    )
    return result.returncode
