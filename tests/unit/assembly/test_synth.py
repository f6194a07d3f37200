"""parity.assembly.synth against a stand-in CDK CLI: argument lists, failures, and staleness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from parity.assembly import synth as synth_module
from parity.assembly.synth import diff, synth, synth_is_stale
from parity.errors import ConfigError, HarnessError

# Records each call, writes a manifest that depends on the arguments, and fails on request.
FAKE_CLI = f"""#!{sys.executable}
import json, os, pathlib, sys
with open("cli-calls.jsonl", "a") as calls:
    calls.write(json.dumps({{
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "AWS_ENDPOINT_URL": os.environ.get("AWS_ENDPOINT_URL"),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION":
            os.environ.get("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"),
    }}) + "\\n")
if os.environ.get("FAKE_CDK_FAIL"):
    print("building the app")
    print("error: unknown thing in cdk/app.py")
    print(".venv/bin/python cdk/app.py: Subprocess exited with error 1")
    sys.exit(1)
out = pathlib.Path("cdk.out")
out.mkdir(exist_ok=True)
(out / "manifest.json").write_text(json.dumps(sys.argv[1:]))
print("Stack Laravel-Qa-Service: there were no differences")
"""


HARNESS_CONFIG = """
[app]
synth_inputs = ["cdk.json", "cdk", "resources"]
[environments.local]
context = { env = "local" }
migration = { stack = "App-Local-Migration", output = "Task", watched_container = "migrate" }
[environments.qa]
context = { env = "qa", stage = "blue" }
migration = { stack = "App-Qa-Migration", output = "Task", watched_container = "migrate" }
"""


def git(project: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=project, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    files = {
        "cdk.json": json.dumps({"app": "python cdk/app.py", "output": "cdk.out"}),
        "cdk/app.py": "print('app')\n",
        "fargate-parity.toml": HARNESS_CONFIG,
        "resources/Dockerfile-laravel": "FROM debian:bookworm-slim\n",
        "resources/laravel/storage/logs/.gitignore": "*\n!.gitignore\n",
        ".gitignore": "cdk.out/\nnode_modules/\ncli-calls.jsonl\n",
        "node_modules/.bin/cdk": FAKE_CLI,
    }
    for relative, content in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content)
    (tmp_path / "node_modules/.bin/cdk").chmod(0o755)
    git(tmp_path, "init", "--quiet")
    git(tmp_path, "add", ".")
    return tmp_path


def cli_calls(project: Path) -> list[dict[str, Any]]:
    lines = (project / "cli-calls.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def edit(path: Path, content: str) -> None:
    path.write_text(content)
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


def test_synth_runs_the_pinned_cli_in_the_project(project: Path) -> None:
    result = synth(project_root=project, env="qa")
    assert result.assembly_dir == project / "cdk.out"
    assert result.environment == "qa"
    assert result.duration_s > 0
    (call,) = cli_calls(project)
    assert call["argv"] == ["synth", "--quiet", "--context", "env=qa", "--context", "stage=blue"]
    assert Path(call["cwd"]) == project
    assert call["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"]


def test_synth_without_env_synthesizes_every_environment(project: Path) -> None:
    synth(project_root=project)
    assert cli_calls(project)[0]["argv"] == ["synth", "--quiet"]


def test_unknown_environment_lists_the_valid_ones(project: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"^unknown environment 'prod'; fargate-parity\.toml defines: local, qa$"
    ):
        synth(project_root=project, env="prod")
    assert not (project / "cli-calls.jsonl").exists()


def test_cli_failure_is_one_line_with_the_error_tail(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CDK_FAIL", "1")
    with pytest.raises(HarnessError) as raised:
        synth(project_root=project, env="qa")
    assert str(raised.value) == "cdk synth failed (exit 1): error: unknown thing in cdk/app.py"


def test_missing_cli_says_how_to_install_it(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "node_modules/.bin/cdk").unlink()
    monkeypatch.setattr(synth_module, "HARNESS_ROOT", project / "no-harness-here")
    with pytest.raises(HarnessError, match="run scripts/bootstrap"):
        synth(project_root=project)


def test_diff_passes_the_emulator_endpoint_through(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    result = diff(project_root=project, env="qa")
    assert "no differences" in result.output
    (call,) = cli_calls(project)
    assert call["argv"] == ["diff", "--all", "--context", "env=qa", "--context", "stage=blue"]
    assert call["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"


def test_stale_until_synthesized(project: Path) -> None:
    assert synth_is_stale(project)
    synth(project_root=project)
    assert not synth_is_stale(project)
    assert not synth_is_stale(project, env="qa")


@pytest.mark.parametrize(
    ("changed", "content"),
    [
        ("cdk/app.py", "print('changed')\n"),
        ("cdk.json", json.dumps({"app": "python cdk/app.py", "output": "cdk.out", "context": {}})),
        ("resources/Dockerfile-laravel", "FROM debian:trixie-slim\n"),
        ("resources/new.conf", "added\n"),
    ],
)
def test_stale_after_an_input_changes(project: Path, changed: str, content: str) -> None:
    synth(project_root=project)
    edit(project / changed, content)
    assert synth_is_stale(project)


def test_ignored_runtime_files_do_not_make_it_stale(project: Path) -> None:
    synth(project_root=project)
    (project / "resources/laravel/storage/logs/laravel.log").write_text("a request\n")
    assert not synth_is_stale(project)


def test_one_environment_does_not_cover_another(project: Path) -> None:
    synth(project_root=project, env="qa")
    assert not synth_is_stale(project, env="qa")
    assert synth_is_stale(project, env="local")
    assert synth_is_stale(project)


def test_stale_when_synthesized_outside_the_harness(project: Path) -> None:
    synth(project_root=project)
    (project / "cdk.out/manifest.json").write_text("[]")
    assert synth_is_stale(project)


def test_always_stale_without_git(project: Path) -> None:
    subprocess.run(["rm", "-rf", str(project / ".git")], check=True)
    synth(project_root=project)
    assert synth_is_stale(project)
