"""LocalStack's lifecycle decisions, without Docker, network or a real install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound

from parity.engine.labels import MANAGED_LABEL
from parity.engine.ports import claim_port
from parity.errors import HarnessError, NotReady
from parity.services.localstack import container, host, readiness, settings
from parity.services.localstack import install as install_module
from parity.services.localstack.container import plan_localstack
from parity.services.localstack.install import HostInstall, InstallProgress, ensure_host_install
from parity.services.localstack.settings import AUTH_TOKEN_VARIABLE, FREE_IMAGE, LICENSED_IMAGE

# -- which LocalStack runs --------------------------------------------------------------------


@dataclass
class FakeImages:
    local: set[str] = field(default_factory=set)
    pull_failure: str | None = None
    pulled: list[str] = field(default_factory=list)

    def has(self, image: str) -> bool:
        return image in self.local

    def pull(self, image: str) -> str | None:
        self.pulled.append(image)
        return self.pull_failure


def test_without_a_docker_engine_localstack_runs_on_the_host_and_says_why() -> None:
    plan = plan_localstack(None, {})
    assert plan.image is None
    assert plan.reason == "no Docker engine answers"


def test_a_local_image_is_used_without_pulling() -> None:
    images = FakeImages(local={FREE_IMAGE})
    assert plan_localstack(images, {}).image == FREE_IMAGE
    assert images.pulled == []


def test_a_pullable_image_is_pulled_and_used() -> None:
    images = FakeImages()
    assert plan_localstack(images, {}).image == FREE_IMAGE
    assert images.pulled == [FREE_IMAGE]


def test_an_unpullable_image_means_host_mode_with_the_registry_error_as_reason() -> None:
    images = FakeImages(pull_failure="lookup registry-1.docker.io: no such host")
    plan = plan_localstack(images, {})
    assert plan.image is None
    assert plan.reason == (
        f"{FREE_IMAGE} is not local and cannot be pulled "
        "(lookup registry-1.docker.io: no such host)"
    )


def test_an_auth_token_selects_the_latest_image() -> None:
    images = FakeImages(local={FREE_IMAGE, LICENSED_IMAGE})
    assert plan_localstack(images, {AUTH_TOKEN_VARIABLE: "ls-secret"}).image == LICENSED_IMAGE
    assert plan_localstack(images, {AUTH_TOKEN_VARIABLE: ""}).image == FREE_IMAGE


def test_the_container_publishes_on_loopback_only_and_gets_the_token_by_env() -> None:
    arguments = container.container_run_arguments(
        LICENSED_IMAGE,
        port=4566,
        labels={"org.fargate-parity.scope": "test"},
        environ={AUTH_TOKEN_VARIABLE: "ls-secret", "HOME": "/root"},
    )
    assert arguments["ports"] == {"4566/tcp": ("127.0.0.1", 4566)}
    assert arguments["labels"] == {"org.fargate-parity.scope": "test"}
    assert arguments["environment"][AUTH_TOKEN_VARIABLE] == "ls-secret"
    assert "HOME" not in arguments["environment"]
    assert arguments["environment"]["DISABLE_EVENTS"] == "1"
    assert arguments["name"] == "parity-localstack-4566"


def test_without_a_token_the_container_gets_none() -> None:
    arguments = container.container_run_arguments(FREE_IMAGE, port=4600, labels={}, environ={})
    assert AUTH_TOKEN_VARIABLE not in arguments["environment"]


# -- host mode: command line and environment ---------------------------------------------------


def test_host_mode_runs_the_runtime_module_of_its_own_venv(tmp_path: Path) -> None:
    install = HostInstall(tmp_path / "localstack-4.8.1")
    assert host.host_command(install) == [
        str(tmp_path / "localstack-4.8.1" / "bin" / "python"),
        "-m",
        "localstack.runtime.main",
    ]


def test_host_mode_listens_on_loopback_offline_with_fresh_state(tmp_path: Path) -> None:
    environment = host.host_environment(
        {"PATH": "/usr/bin", AUTH_TOKEN_VARIABLE: "ls-secret", "GATEWAY_LISTEN": ":4566"},
        port=4571,
        state_dir=tmp_path / "state",
    )
    assert environment["GATEWAY_LISTEN"] == "127.0.0.1:4571"
    assert environment["LOCALSTACK_HOST"] == "127.0.0.1:4571"
    assert environment["FILESYSTEM_ROOT"] == str(tmp_path / "state" / "filesystem")
    assert environment["CONFIG_DIR"] == str(tmp_path / "state" / "config")
    assert environment["DNS_ADDRESS"] == "0"
    assert environment["SKIP_SSL_CERT_DOWNLOAD"] == "1"
    assert environment["PATH"] == "/usr/bin"
    assert AUTH_TOKEN_VARIABLE not in environment


def test_the_install_commands_are_argument_lists_with_every_pin(tmp_path: Path) -> None:
    install = HostInstall(tmp_path / "localstack-4.8.1")
    create_venv, pip_install = install.commands()
    assert create_venv == [sys.executable, "-m", "venv", str(install.root)]
    assert pip_install[:4] == [str(install.python), "-m", "pip", "install"]
    for requirement in (
        "localstack-core[runtime]==4.8.1",
        "cbor2<6",
        "cryptography<45",
        "pyopenssl<25",
        "service-identity",
        "psutil<7.2",
    ):
        assert requirement in pip_install


# -- host mode: the install stamp --------------------------------------------------------------


@dataclass
class RecordingRunner:
    """Pretends to create the venv; fails on the command whose index is ``fail_at``."""

    install: HostInstall
    fail_at: int | None = None
    commands: list[list[str]] = field(default_factory=list)

    def __call__(self, command: Sequence[str], log: Path, progress: InstallProgress) -> None:
        self.commands.append(list(command))
        progress("Collecting localstack-core")
        if len(self.commands) - 1 == self.fail_at:
            raise HarnessError("pip failed")
        self.install.python.parent.mkdir(parents=True, exist_ok=True)
        self.install.python.write_text("#!python")


@pytest.fixture
def install(tmp_path: Path) -> HostInstall:
    return HostInstall(tmp_path / "cache" / "localstack-4.8.1")


def test_a_fresh_install_runs_both_commands_and_writes_the_stamp_last(
    install: HostInstall,
) -> None:
    runner = RecordingRunner(install)
    ensure_host_install(install, run=runner)
    assert runner.commands == install.commands()
    assert install.stamp.read_text() == install.fingerprint
    assert install.is_current()


def test_a_matching_stamp_means_no_reinstall(install: HostInstall) -> None:
    ensure_host_install(install, run=RecordingRunner(install))
    again = RecordingRunner(install)
    ensure_host_install(install, run=again)
    assert again.commands == []


def test_an_interrupted_install_leaves_no_stamp_and_is_redone_from_scratch(
    install: HostInstall,
) -> None:
    with pytest.raises(HarnessError, match="pip failed"):
        ensure_host_install(install, run=RecordingRunner(install, fail_at=1))
    assert not install.stamp.exists()
    leftover = install.root / "lib" / "half-installed"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("partial")

    retry = RecordingRunner(install)
    ensure_host_install(install, run=retry)
    assert retry.commands == install.commands()
    assert not leftover.exists()
    assert install.is_current()


def test_other_pins_or_another_python_mean_a_new_install(install: HostInstall) -> None:
    ensure_host_install(install, run=RecordingRunner(install))
    install.stamp.write_text(install.fingerprint.replace("4.8.1", "4.8.0"))
    assert not install.is_current()
    other_python = HostInstall(install.root, python_version="3.12")
    ensure_host_install(install, run=RecordingRunner(install))
    assert install.is_current()
    assert not other_python.is_current()


def test_a_venv_whose_interpreter_is_gone_is_not_current(install: HostInstall) -> None:
    ensure_host_install(install, run=RecordingRunner(install))
    install.python.unlink()
    assert not install.is_current()


def test_a_failing_install_step_names_the_log_and_its_last_line(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    seen: list[str] = []
    command = [sys.executable, "-c", "print('Collecting x'); raise SystemExit('no wheel for x')"]
    with pytest.raises(HarnessError, match="no wheel for x") as caught:
        install_module.run_logged_step(command, log, seen.append)
    assert str(log) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "Collecting x" in seen
    assert "Collecting x" in log.read_text()


# -- host mode: what a killed run left behind -------------------------------------------------


def write_owner(root: Path, port: int, *, pid: int, owner: int) -> host.RunDirectory:
    run = host.RunDirectory(root / str(port))
    run.state.mkdir(parents=True)
    run.owner.write_text(json.dumps({"pid": pid, "owner": owner}))
    return run


DEAD_PID = 2**22 + 1  # above Linux's pid_max, so never a live process


def test_the_directory_of_a_run_whose_harness_died_is_removed(tmp_path: Path) -> None:
    run = write_owner(tmp_path, 4566, pid=DEAD_PID, owner=DEAD_PID)
    host.remove_finished_runs(tmp_path)
    assert not run.path.exists()


def test_a_run_whose_harness_lives_is_left_alone(tmp_path: Path) -> None:
    run = write_owner(tmp_path, 4566, pid=DEAD_PID, owner=os.getpid())
    host.remove_finished_runs(tmp_path)
    assert run.state.exists()
    assert run.owner.exists()


def test_a_stopped_runs_log_is_kept_until_the_next_start(tmp_path: Path) -> None:
    run = host.RunDirectory(tmp_path / "4566")
    run.path.mkdir()
    run.log.write_text("Ready.")
    host.remove_finished_runs(tmp_path)
    assert not run.path.exists()


def test_a_reused_pid_that_is_not_localstack_is_never_signalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signalled: list[int] = []
    monkeypatch.setattr(host, "terminate_group", lambda pid, **_: signalled.append(pid))
    run = write_owner(tmp_path, 4566, pid=os.getpid(), owner=DEAD_PID)
    host.remove_finished_runs(tmp_path)
    assert signalled == []
    assert not run.path.exists()


def test_a_garbled_owner_file_does_not_stop_the_cleanup(tmp_path: Path) -> None:
    run = host.RunDirectory(tmp_path / "4566")
    run.path.mkdir()
    run.owner.write_text("{not json")
    host.remove_finished_runs(tmp_path)
    assert not run.path.exists()


def test_the_command_line_of_a_process_is_read_in_full() -> None:
    # A path longer than any terminal, as a cached venv's python can be.
    long_argument = "x" * 300 + "localstack.runtime.main"
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()", long_argument], stdin=subprocess.PIPE
    )
    try:
        assert host.is_host_localstack(process.pid)
    finally:
        process.communicate(b"")
    assert not host.is_host_localstack(os.getpid())


# -- readiness ---------------------------------------------------------------------------------


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeLocalStack:
    exits_after_polls: int | None = None
    log: str = "line 1\nTraceback: boom"
    polls: int = 0
    where: str = "log: /tmp/localstack.log"

    def exit_reason(self) -> str | None:
        self.polls += 1
        if self.exits_after_polls is not None and self.polls >= self.exits_after_polls:
            return "exit code 1"
        return None

    def log_tail(self, lines: int) -> str:
        return "\n".join(self.log.splitlines()[-lines:])

    def stop(self) -> None:
        raise AssertionError("wait_until_ready never stops what it waits for")


def health(**states: str) -> dict[str, Any]:
    return {"services": states, "version": "4.8.1"}


def answers(*responses: Mapping[str, Any] | None) -> Iterator[Mapping[str, Any] | None]:
    yield from responses
    while True:
        yield responses[-1]


def test_ready_once_secrets_manager_and_ssm_are_available_or_running() -> None:
    clock = FakeClock()
    responses = answers(
        None,
        health(secretsmanager="available"),
        health(secretsmanager="running", ssm="initializing"),
        health(secretsmanager="running", ssm="available"),
    )
    calls: list[float] = []

    def fetch() -> Mapping[str, Any] | None:
        calls.append(clock.now)
        return next(responses)

    readiness.wait_until_ready(
        FakeLocalStack(), fetch, timeout_s=10, clock=clock, pause=clock.advance
    )
    assert len(calls) == 4


def test_a_process_that_exits_fails_fast_with_its_log_tail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    with pytest.raises(NotReady, match=r"stopped \(exit code 1\) before it was ready") as caught:
        readiness.wait_until_ready(
            FakeLocalStack(exits_after_polls=2),
            lambda: None,
            timeout_s=60,
            clock=clock,
            pause=clock.advance,
        )
    assert clock.now < 1
    assert "/tmp/localstack.log" in str(caught.value)
    assert "Traceback: boom" in capsys.readouterr().err


def test_a_localstack_that_never_gets_ready_times_out_at_the_deadline() -> None:
    clock = FakeClock()
    with pytest.raises(NotReady, match="did not report secretsmanager and ssm ready within 5s"):
        readiness.wait_until_ready(
            FakeLocalStack(),
            lambda: health(secretsmanager="running", ssm="error"),
            timeout_s=5,
            clock=clock,
            pause=clock.advance,
        )
    assert 5 <= clock.now < 5.5


@pytest.mark.parametrize(
    "document",
    [None, {}, {"services": "secretsmanager"}, health(secretsmanager="disabled", ssm="running")],
)
def test_health_documents_that_do_not_mean_ready(document: Mapping[str, Any] | None) -> None:
    assert not readiness.services_ready(document, ("secretsmanager", "ssm"))


# -- container mode with a fake Docker client --------------------------------------------------


@dataclass
class FakeContainer:
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    status: str = "running"
    exit_code: int = 0
    removed: bool = False
    stopped_with: int | None = None

    @property
    def attrs(self) -> dict[str, Any]:
        return {"State": {"ExitCode": self.exit_code}}

    def reload(self) -> None:
        pass

    def logs(self, tail: int) -> bytes:
        return b"Ready.\n"

    def stop(self, timeout: int) -> None:
        self.stopped_with = timeout

    def remove(self, force: bool, v: bool) -> None:
        self.removed = True


@dataclass
class FakeContainers:
    existing: dict[str, FakeContainer] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def get(self, name: str) -> FakeContainer:
        if name not in self.existing:
            raise NotFound("no such container")
        return self.existing[name]

    def run(self, **arguments: Any) -> FakeContainer:
        self.runs.append(arguments)
        return FakeContainer(arguments["name"], arguments["labels"])


@dataclass
class FakeDocker:
    containers: FakeContainers = field(default_factory=FakeContainers)


def test_a_container_left_by_a_killed_run_is_replaced() -> None:
    port = claim_port(None, purpose="LocalStack")
    ours = FakeContainer(f"parity-localstack-{port}", {MANAGED_LABEL: "true"})
    client = FakeDocker(FakeContainers({ours.name: ours}))
    started, bound_port = container.start_container(
        client,
        FREE_IMAGE,
        port=port,
        labels={MANAGED_LABEL: "true"},
        environ={},
    )
    assert ours.removed
    assert bound_port == port
    assert client.containers.runs[0]["ports"] == {"4566/tcp": ("127.0.0.1", port)}
    assert started.exit_reason() is None
    started.stop()
    assert started.container.stopped_with == settings.STOP_GRACE_S


def test_a_container_that_exited_reports_its_exit_code() -> None:
    fake = FakeContainer("parity-localstack-4566", status="exited", exit_code=3)
    started = container.LocalStackContainer(fake)
    assert started.exit_reason() == "exit code 3"
    assert started.log_tail(5) == "Ready.\n"
