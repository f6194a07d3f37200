"""A command in a container through the docker CLI: secrets in its environment, not its argv;
the exit code as it is."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from parity.engine.execute import exec_argv, run_in_container
from parity.errors import EngineUnavailable
from parity.secretvalue import SecretValue

# Stands in for the docker CLI: records its argv and the named variables, exits with $EXIT_WITH.
FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$@" > "$RECORD.argv"
printf '%s' "$APP_KEY" > "$RECORD.env"
exit "$EXIT_WITH"
"""


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    binary = tmp_path / "bin" / "docker"
    binary.parent.mkdir()
    binary.write_text(FAKE_DOCKER)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("RECORD", str(tmp_path / "record"))
    return tmp_path / "record"


def test_the_argv_names_each_variable_and_asks_for_a_tty_only_when_told() -> None:
    assert exec_argv("docker", "web-1", ["ls", "-l"], names=["A", "B"], tty=False) == [
        "docker", "exec", "-i", "-e", "A", "-e", "B", "web-1", "ls", "-l",
    ]  # fmt: skip
    assert exec_argv("docker", "web-1", ["sh"], names=[], tty=True)[:4] == [
        "docker", "exec", "-i", "-t",
    ]  # fmt: skip


def test_the_exit_code_passes_through_and_secrets_stay_out_of_the_argv(
    fake_docker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXIT_WITH", "3")
    code = run_in_container(
        "web-1",
        ["php", "artisan", "about"],
        environment={"APP_KEY": SecretValue("s3cr3t")},
        tty=False,
    )
    assert code == 3
    argv = Path(f"{fake_docker}.argv").read_text().splitlines()
    assert argv == ["exec", "-i", "-e", "APP_KEY", "web-1", "php", "artisan", "about"]
    assert "s3cr3t" not in json.dumps(argv)
    assert Path(f"{fake_docker}.env").read_text() == "s3cr3t"


def test_without_the_docker_cli_it_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineUnavailable, match=r"docker CLI is not on PATH; `invoke engine`"):
        run_in_container("web-1", ["true"], environment={}, tty=False)
