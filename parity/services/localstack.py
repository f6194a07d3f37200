"""LocalStack as the AWS emulator: a container where its image can be had, else on the host.

Container mode runs ``localstack/localstack:4.14.0`` (the last free image), or ``latest``
when ``LOCALSTACK_AUTH_TOKEN`` is set, published on ``127.0.0.1`` only and labelled like
every container the harness starts.

Host mode (no Docker engine, or no registry to pull the image from) runs localstack-core
4.8.1, the last release that runs on Python 3.11, in a virtualenv of its own under the
user cache: its pins clash with the project's. The install runs once (minutes, ~500 MB);
a stamp written only after it succeeded marks it done, so an interrupted install is redone
and a finished one never is. Every start gets a fresh state directory, and a LocalStack
left running by a killed harness is stopped before a new one starts.

Both modes are ready when ``/_localstack/health`` reports Secrets Manager and SSM usable.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import docker
from docker.errors import DockerException, ImageNotFound, NotFound
from docker.models.containers import Container

from parity.console import console, note, step
from parity.engine.daemon import connect
from parity.engine.images import MANAGED_LABEL
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import HarnessError, NotReady, PortInUse

LOCALSTACK_VERSION = "4.8.1"
HOST_REQUIREMENTS = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    # The newest releases 4.8.1 still works with (later ones changed APIs it uses).
    "cbor2<6",
    "cryptography<45",
    "pyopenssl<25",
    "service-identity",
    # psutil 7.2 dropped psutil._common.snicaddr, which LocalStack's DNS module imports.
    "psutil<7.2",
)
FREE_IMAGE = "localstack/localstack:4.14.0"
LICENSED_IMAGE = "localstack/localstack:latest"
AUTH_TOKEN_VARIABLE = "LOCALSTACK_AUTH_TOKEN"  # noqa: S105 (the variable's name, not a token)
CONTAINER_PORT = 4566
REQUIRED_SERVICES = ("secretsmanager", "ssm")
READY_STATES = frozenset({"available", "running"})
# Keep LocalStack off the internet and off the host's network configuration.
OFFLINE_SETTINGS = {
    "DISABLE_EVENTS": "1",  # no usage analytics sent to LocalStack's API
    "SKIP_SSL_CERT_DOWNLOAD": "1",  # no download of the localhost.localstack.cloud certificate
    "DNS_ADDRESS": "0",  # no DNS server (as root it would bind port 53 on every interface)
}
HOST_READY_TIMEOUT_S = 90.0
CONTAINER_READY_TIMEOUT_S = 180.0
STOP_GRACE_S = 15.0  # it shuts down in about 3 s
LOG_TAIL_LINES = 20


def cache_root(environ: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CACHE_HOME/fargate-parity``, i.e. ``~/.cache/fargate-parity`` by default."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fargate-parity"


# -- host mode: the cached virtualenv ---------------------------------------------------------


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


# -- host mode: one LocalStack process ------------------------------------------------------


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
        bound_port = claim_port(port)
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


def claim_port(port: int | None) -> int:
    """``port`` if nothing listens on 127.0.0.1 there (None or 0: a free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do: a stopped run's connections in TIME_WAIT must not count as in use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK_ADDRESS, port or 0))
        except OSError as error:
            raise PortInUse(
                f"port {port} on 127.0.0.1 is already in use, so LocalStack cannot listen "
                "there; stop whatever holds it or choose another port"
            ) from error
        bound: int = probe.getsockname()[1]
        return bound


# -- container mode ---------------------------------------------------------------------------


class ImageStore(Protocol):
    def has(self, image: str) -> bool: ...

    def pull(self, image: str) -> str | None:
        """Pull ``image``; None on success, else why it could not be pulled."""
        ...


@dataclass(frozen=True)
class DockerImages:
    client: docker.DockerClient

    def has(self, image: str) -> bool:
        try:
            self.client.images.get(image)
        except ImageNotFound:
            return False
        return True

    def pull(self, image: str) -> str | None:
        repository, _, tag = image.partition(":")
        try:
            with console.status(f"pulling {image}…"):
                self.client.images.pull(repository, tag=tag)
        except DockerException as error:
            return first_line(str(getattr(error, "explanation", None) or error))
        return None


@dataclass(frozen=True)
class LocalStackPlan:
    """The container image to run, or None for host mode with ``reason`` saying why."""

    image: str | None
    reason: str = ""


def container_image(environ: Mapping[str, str]) -> str:
    # Images after 4.14.0 refuse to start without a token (since 2026-03-23).
    return LICENSED_IMAGE if environ.get(AUTH_TOKEN_VARIABLE) else FREE_IMAGE


def plan_localstack(images: ImageStore | None, environ: Mapping[str, str]) -> LocalStackPlan:
    """The image when it is local or can be pulled; otherwise host mode and why."""
    image = container_image(environ)
    if images is None:
        return LocalStackPlan(None, "no Docker engine answers")
    if images.has(image):
        return LocalStackPlan(image)
    failure = images.pull(image)
    if failure is None:
        return LocalStackPlan(image)
    return LocalStackPlan(None, f"{image} is not local and cannot be pulled ({failure})")


def container_name(port: int) -> str:
    return f"parity-localstack-{port}"


def container_run_arguments(
    image: str, *, port: int, labels: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Keyword arguments of ``containers.run``; the token goes in the environment only."""
    environment = {**OFFLINE_SETTINGS, "LOCALSTACK_HOST": f"127.0.0.1:{port}"}
    token = environ.get(AUTH_TOKEN_VARIABLE)
    if token:
        environment[AUTH_TOKEN_VARIABLE] = token
    return {
        "image": image,
        "name": container_name(port),
        "detach": True,
        "labels": dict(labels),
        "environment": environment,
        "ports": {f"{CONTAINER_PORT}/tcp": (LOOPBACK_ADDRESS, port)},
    }


@dataclass
class LocalStackContainer:
    container: Container

    @property
    def where(self) -> str:
        return f"container {self.container.name}"

    def exit_reason(self) -> str | None:
        try:
            self.container.reload()
        except NotFound:
            return "the container was removed"
        if self.container.status in ("exited", "dead"):
            return f"exit code {self.container.attrs['State']['ExitCode']}"
        return None

    def log_tail(self, lines: int) -> str:
        try:
            output: bytes = self.container.logs(tail=lines)
        except NotFound:
            return ""
        return output.decode(errors="replace")

    def stop(self) -> None:
        with contextlib.suppress(NotFound):
            self.container.stop(timeout=int(STOP_GRACE_S))
        with contextlib.suppress(NotFound):
            self.container.remove(force=True, v=True)


def start_container(
    client: docker.DockerClient,
    image: str,
    *,
    port: int | None,
    labels: Mapping[str, str],
    environ: Mapping[str, str],
) -> tuple[LocalStackContainer, int]:
    if port:
        with contextlib.suppress(NotFound):
            stale = client.containers.get(container_name(port))
            if stale.labels.get(MANAGED_LABEL) == "true":  # left by a killed run of ours
                stale.remove(force=True, v=True)
    bound_port = claim_port(port)
    arguments = container_run_arguments(image, port=bound_port, labels=labels, environ=environ)
    return LocalStackContainer(client.containers.run(**arguments)), bound_port


# -- readiness --------------------------------------------------------------------------------


class StartedLocalStack(Protocol):
    @property
    def where(self) -> str:
        """Where its output is: a log file or a container."""
        ...

    def exit_reason(self) -> str | None:
        """None while it runs; why it stopped otherwise."""
        ...

    def log_tail(self, lines: int) -> str: ...

    def stop(self) -> None: ...


HealthFetcher = Callable[[], Mapping[str, Any] | None]


def health_fetcher(endpoint_url: str) -> HealthFetcher:
    url = f"{endpoint_url}/_localstack/health"
    # Straight to loopback: an HTTP(S)_PROXY from the environment must not route this.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch() -> Mapping[str, Any] | None:
        try:
            with opener.open(url, timeout=2) as response:
                document = json.load(response)
        except (OSError, ValueError):  # not listening yet, or a half-started gateway
            return None
        return document if isinstance(document, dict) else None

    return fetch


def services_ready(health: Mapping[str, Any] | None, required: Sequence[str]) -> bool:
    services = (health or {}).get("services")
    return isinstance(services, dict) and all(
        services.get(name) in READY_STATES for name in required
    )


def wait_until_ready(
    started: StartedLocalStack,
    fetch_health: HealthFetcher,
    *,
    timeout_s: float,
    required: Sequence[str] = REQUIRED_SERVICES,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
    interval_s: float = 0.2,
) -> None:
    """Poll the health endpoint until ``required`` are usable; fail fast when it exits."""
    deadline = clock() + timeout_s
    while True:
        if services_ready(fetch_health(), required):
            return
        reason = started.exit_reason()
        if reason is not None:
            show_log_tail(started)
            raise NotReady(f"LocalStack stopped ({reason}) before it was ready; {started.where}")
        if clock() >= deadline:
            show_log_tail(started)
            raise NotReady(
                f"LocalStack did not report {' and '.join(required)} ready within "
                f"{timeout_s:.0f}s; {started.where}"
            )
        pause(interval_s)


def show_log_tail(started: StartedLocalStack) -> None:
    tail = started.log_tail(LOG_TAIL_LINES)
    if tail:
        console.print(tail, markup=False, highlight=False)


# -- start and stop ---------------------------------------------------------------------------


@dataclass
class RunningLocalStack:
    endpoint_url: str
    started: StartedLocalStack

    def __post_init__(self) -> None:
        # Host mode runs in its own session: without this, a harness that exits
        # without stop() would leave it running.
        atexit.register(self.stop)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        self.started.stop()


def start_localstack(
    *,
    port: int | None,
    labels: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
    install: HostInstall | None = None,
) -> RunningLocalStack:
    """Start LocalStack in a container if its image can be had, else on the host."""
    client = connect()
    plan = plan_localstack(DockerImages(client) if client is not None else None, environ)
    if plan.image is not None and client is not None:
        with step(f"LocalStack container ({plan.image})"):
            started, bound_port = start_container(
                client, plan.image, port=port, labels=labels, environ=environ
            )
            return ready(started, bound_port, timeout_s=CONTAINER_READY_TIMEOUT_S)
    note(f"running LocalStack {LOCALSTACK_VERSION} on the host: {plan.reason}")
    host_install = install or HostInstall.default()
    ensure_host_install(host_install)
    with step(f"LocalStack {LOCALSTACK_VERSION} on the host"):
        process, bound_port = start_host_process(host_install, port=port, environ=environ)
        return ready(process, bound_port, timeout_s=HOST_READY_TIMEOUT_S)


def ready(started: StartedLocalStack, port: int, *, timeout_s: float) -> RunningLocalStack:
    """Wait for readiness; on failure stop what was started, so nothing is left behind."""
    endpoint_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(started, health_fetcher(endpoint_url), timeout_s=timeout_s)
    except BaseException:
        started.stop()
        raise
    return RunningLocalStack(endpoint_url, started)


def first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
