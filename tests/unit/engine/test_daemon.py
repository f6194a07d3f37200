from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

from parity.engine import daemon as engine
from parity.errors import EngineStopped, EngineUnavailable


def test_debian_and_ubuntu_count_as_debian_family(tmp_path: Path) -> None:
    debian = tmp_path / "debian"
    debian.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    ubuntu = tmp_path / "ubuntu"
    ubuntu.write_text("ID=ubuntu\nID_LIKE=debian\n")
    mint = tmp_path / "mint"
    mint.write_text('ID=linuxmint\nID_LIKE="ubuntu debian"\n')
    fedora = tmp_path / "fedora"
    fedora.write_text("ID=fedora\n")
    assert engine.is_debian_family(debian)
    assert engine.is_debian_family(ubuntu)
    assert engine.is_debian_family(mint)
    assert not engine.is_debian_family(fedora)
    assert not engine.is_debian_family(tmp_path / "missing")


def test_a_pidfile_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text("999999999")
    assert engine.remove_stale_pidfile(pidfile)
    assert not pidfile.exists()


def test_a_pidfile_of_a_live_non_dockerd_process_is_removed(tmp_path: Path) -> None:
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text(str(os.getpid()))
    assert engine.remove_stale_pidfile(pidfile)


def test_a_garbled_pidfile_is_removed_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text("not a pid")
    assert engine.remove_stale_pidfile(pidfile)
    assert not engine.remove_stale_pidfile(pidfile)


def test_without_an_engine_or_the_right_to_install_one_the_error_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine, "connect", lambda: None)
    monkeypatch.setattr(engine, "can_manage_engine", lambda: False)
    with pytest.raises(EngineUnavailable, match="start Docker") as caught:
        engine.ensure_engine()
    assert "\n" not in str(caught.value)


def test_a_remote_docker_host_that_does_not_answer_is_not_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.9.8.7:2375")
    monkeypatch.setattr(engine, "connect", lambda: None)
    monkeypatch.setattr(engine, "can_manage_engine", lambda: True)
    with pytest.raises(EngineUnavailable, match=re.escape("DOCKER_HOST=tcp://10.9.8.7:2375")):
        engine.ensure_engine()


def test_a_failing_apt_get_names_the_command_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failed:
        returncode = 100
        stdout = ""
        stderr = "E: Unable to locate package docker.io\n"

    monkeypatch.setattr(engine.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(
        EngineUnavailable, match=re.escape("Unable to locate package docker.io")
    ) as caught:
        engine.apt_install(["docker.io"], reason="testing")
    assert "install docker.io by hand" in str(caught.value)


def test_a_failure_once_the_engine_went_away_is_reported_as_that(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "connect", lambda: None)
    tried_to_start: list[bool] = []
    monkeypatch.setattr(engine, "start_dockerd", lambda: tried_to_start.append(True))
    with pytest.raises(EngineStopped) as stopped, engine.engine_errors():
        raise requests.ConnectionError("('Connection aborted.', FileNotFoundError(2))")
    assert str(stopped.value) == "the Docker engine went away; start it again and re-run"
    assert tried_to_start == []


def test_a_failure_while_the_engine_answers_stays_what_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "connect", lambda: object())
    with pytest.raises(ValueError, match="a real bug"), engine.engine_errors():
        raise ValueError("a real bug")


def test_no_engine_at_start_up_stays_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "connect", lambda: None)
    with pytest.raises(EngineUnavailable) as raised, engine.engine_errors():
        raise EngineUnavailable("no Docker engine answers; start Docker")
    assert not isinstance(raised.value, EngineStopped)
