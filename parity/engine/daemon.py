"""Find a Docker engine, or install and start one on a Debian/Ubuntu host as root.

On a laptop with Docker Desktop or a running daemon this only pings it. On a bare
Debian VM (no daemon, no registry) it installs Debian's ``docker.io``, starts
``dockerd`` with its log in a file and waits for the socket. Elsewhere it stops with
one line saying what to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
from docker.errors import DockerException

from parity.console import last_line, note, step
from parity.errors import EngineStopped, EngineUnavailable

DOCKERD_LOG = Path("/var/log/fargate-parity-dockerd.log")
DOCKERD_PIDFILE = Path("/var/run/docker.pid")
DOCKER_SOCKET = Path("/var/run/docker.sock")
START_TIMEOUT_S = 60.0


def connect() -> docker.DockerClient | None:
    """Return a client for an engine that answers a ping, or None."""
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except DockerException:
        return None
    return client


def ensure_engine() -> docker.DockerClient:
    """Return a client for a running engine, starting (and installing) one if allowed."""
    client = connect()
    if client is not None:
        return client
    docker_host = os.environ.get("DOCKER_HOST", "")
    if docker_host and not docker_host.startswith("unix://"):
        raise EngineUnavailable(
            f"no Docker engine answers at DOCKER_HOST={docker_host}; start it or unset DOCKER_HOST"
        )
    if not can_manage_engine():
        raise EngineUnavailable(
            "no Docker engine answers; start Docker (Docker Desktop, or "
            "`sudo systemctl start docker`) and re-run"
        )
    if shutil.which("dockerd") is None:
        # Debian's docker-compose with it: the exported compose file can then be run (and its
        # test runs in CI).
        apt_install(["docker.io", "docker-compose"], reason="no Docker engine is installed")
    start_dockerd()
    client = connect()
    if client is None:
        raise EngineUnavailable(f"dockerd started but does not answer; see {DOCKERD_LOG}")
    return client


@contextmanager
def engine_errors() -> Iterator[None]:
    """For a run whose engine answered at start-up: any failure while the engine no longer
    answers is reported as EngineStopped (the engine went away), never as the Docker call that
    happened to notice. Nothing here starts an engine: that happens only at start-up."""
    try:
        yield
    except EngineUnavailable:
        raise
    except Exception as error:
        if connect() is None:
            raise EngineStopped() from error
        raise


def compose_command() -> list[str] | None:
    """How to run Docker Compose here (the v2 plugin, else Debian's docker-compose), or None."""
    docker_cli = shutil.which("docker")
    if docker_cli is not None:
        plugin = subprocess.run(
            [docker_cli, "compose", "version"], capture_output=True, check=False
        )
        if plugin.returncode == 0:
            return [docker_cli, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone is not None else None


def ensure_compose() -> list[str] | None:
    """Docker Compose: installs Debian's docker-compose where the harness manages the engine
    (root on Debian) and none is there; elsewhere, None when it is missing."""
    command = compose_command()
    if command is None and can_manage_engine():
        apt_install(["docker-compose"], reason="no Docker Compose is installed")
        command = compose_command()
    return command


def can_manage_engine() -> bool:
    """True on a Debian-family host where we are root and apt-get exists."""
    return os.geteuid() == 0 and is_debian_family() and shutil.which("apt-get") is not None


def is_debian_family(os_release: Path = Path("/etc/os-release")) -> bool:
    try:
        fields = dict(
            line.split("=", 1) for line in os_release.read_text().splitlines() if "=" in line
        )
    except OSError:
        return False
    ids = {fields.get("ID", "").strip('"')} | set(fields.get("ID_LIKE", "").strip('"').split())
    return bool(ids & {"debian", "ubuntu"})


def apt_install(packages: list[str], *, reason: str) -> None:
    """Install Debian packages, saying why; raise EngineUnavailable with apt's tail on failure."""
    note(f"{reason}: installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ]
    with step(f"apt-get install {' '.join(packages)}"):
        for command in commands:
            result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
                raise EngineUnavailable(
                    f"`{' '.join(command)}` failed ({tail}); install {' '.join(packages)} by hand"
                )


def remove_stale_pidfile(pidfile: Path = DOCKERD_PIDFILE) -> bool:
    """Delete a dockerd pid file whose process is gone (dockerd refuses to start otherwise)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        if pidfile.exists():
            pidfile.unlink()
            return True
        return False
    comm = Path(f"/proc/{pid}/comm")
    if comm.exists() and comm.read_text().strip() == "dockerd":
        return False
    pidfile.unlink()
    return True


def start_dockerd() -> None:
    """Start dockerd in the background with its log in DOCKERD_LOG and wait for it."""
    if remove_stale_pidfile():
        note(f"removed a stale {DOCKERD_PIDFILE}")
    note(f"starting dockerd (log: {DOCKERD_LOG})")
    with step("waiting for the Docker engine"):
        with DOCKERD_LOG.open("ab") as log:
            process = subprocess.Popen(
                ["dockerd", "--pidfile", str(DOCKERD_PIDFILE)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise EngineUnavailable(
                    f"dockerd exited with {process.returncode}: {last_line(DOCKERD_LOG)} "
                    f"(full log: {DOCKERD_LOG})"
                )
            if DOCKER_SOCKET.exists() and connect() is not None:
                return
            time.sleep(0.2)
    raise EngineUnavailable(
        f"dockerd did not answer within {START_TIMEOUT_S:.0f}s; see {DOCKERD_LOG}"
    )
