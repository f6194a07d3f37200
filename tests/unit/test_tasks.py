"""The CLI as a user types it (``python -m invoke``): help for every task, and flags that are
no port fail with one line before anything starts (no Docker is needed to see that)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def invoke(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *arguments],
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("name", ["deploy", "migrate", "diff", "dev", "parity", "run-task"])
def test_help_shows_the_task_s_help(name: str) -> None:
    result = invoke(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: inv[oke] [--core-opts] {name} ")
    assert "--env" in result.stdout or name in {"dev"}
    assert "cached" not in result.stderr, "the help ran the task"


def test_a_task_without_its_environment_says_which_to_give() -> None:
    result = invoke("deploy")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: no environment given; pass --env with one of: local, prod, qa"
    )


@pytest.mark.parametrize(
    ("arguments", "flag", "value"),
    [
        (("dev", "--port", "70000"), "--port", "70000"),
        (("dev", "--port", "-1"), "--port", "-1"),
        (("dev", "--port", "abc"), "--port", "abc"),
        (("dev", "--db-port", "99999"), "--db-port", "99999"),
        (("dev", "--emulator-port", "x"), "--emulator-port", "x"),
        (("deploy", "--env", "local", "--port", "70000"), "--port", "70000"),
        (("parity", "--port", "abc"), "--port", "abc"),
    ],
)
def test_a_flag_that_is_no_port_is_one_line(
    arguments: tuple[str, ...], flag: str, value: str
) -> None:
    result = invoke(*arguments)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {flag} {value!r} is not a port: give a number from 1 to 65535, or 0 for a free one"
    ]
