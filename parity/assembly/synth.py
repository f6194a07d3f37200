"""Synthesize and diff the CDK app with the pinned CDK CLI, and tell when ``cdk.out`` is stale.

The app is the one ``fargate-parity.toml`` names (``[app] cdk_json``), in any CDK language:
the CLI runs its ``cdk.json`` ``app`` command, with the environment's ``context``. The CLI
is the project's ``node_modules/.bin/cdk``, else the one the harness pinned (package.json).
Synth is offline. ``diff`` talks to AWS, or to an emulator: the CLI inherits this process's
environment, so ``AWS_ENDPOINT_URL`` (with ``AWS_ENDPOINT_URL_S3`` and test credentials)
points it at one.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from parity.childprocess import run_tied
from parity.config.harness import HarnessConfig, load_config
from parity.errors import HarnessError

CDK_CLI = Path("node_modules/.bin/cdk")
# The checkout the harness runs from: its package.json pins the CLI.
HARNESS_ROOT = Path(__file__).resolve().parents[2]
STAMP_FILE = "parity-synth-inputs.json"
CLI_TIMEOUT_S = 600
FAILURE_TAIL_LINES = 3
# jsii prints a large end-of-life banner on these Node majors; it says nothing about the app.
SILENCED_NODE_MAJORS = "18,20"


@dataclass(frozen=True)
class SynthResult:
    assembly_dir: Path
    duration_s: float
    environment: str | None  # None: every environment


@dataclass(frozen=True)
class DiffResult:
    output: str
    duration_s: float


def environment_names(project_root: Path) -> tuple[str, ...]:
    """The environments fargate-parity.toml defines."""
    return tuple(load_config(project_root).environments)


def cdk_cli(project_root: Path) -> Path:
    """The project's own pinned CDK CLI, else the harness's."""
    for root in (project_root, HARNESS_ROOT):
        if (root / CDK_CLI).exists():
            return root / CDK_CLI
    raise HarnessError(
        f"{project_root / CDK_CLI} is missing; run scripts/bootstrap to install the CDK CLI"
    )


def assembly_dir(project_root: Path) -> Path:
    """Where the CLI writes the cloud assembly: cdk.json's ``output``, beside cdk.json."""
    cdk_json = load_config(project_root).cdk_json
    try:
        settings = json.loads(cdk_json.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"cannot read {cdk_json}: {error}") from None
    return cdk_json.parent / str(settings.get("output", "cdk.out"))


def synth(*, project_root: Path, env: str | None = None) -> SynthResult:
    """Run ``cdk synth`` for every environment, or only ``env``, and stamp its inputs."""
    config = load_config(project_root)
    context = _context(config, env)
    inputs = inputs_fingerprint(project_root)
    command = [str(cdk_cli(project_root)), "synth", "--quiet", *context]
    started = time.monotonic()
    _run_cli(command, cwd=config.cdk_dir, what="cdk synth")
    duration = time.monotonic() - started
    output_dir = assembly_dir(project_root)
    if inputs is not None:
        stamp = {"environment": env, "inputs": inputs, "manifest": _manifest_digest(output_dir)}
        (output_dir / STAMP_FILE).write_text(json.dumps(stamp))
    return SynthResult(assembly_dir=output_dir, duration_s=duration, environment=env)


def diff(*, project_root: Path, env: str) -> DiffResult:
    """Run ``cdk diff`` on ``env``'s stacks against the deployed ones (or the emulator's)."""
    config = load_config(project_root)
    command = [str(cdk_cli(project_root)), "diff", "--all", *_context(config, env)]
    started = time.monotonic()
    output = _run_cli(command, cwd=config.cdk_dir, what=f"cdk diff for {env}")
    return DiffResult(output=output, duration_s=time.monotonic() - started)


def synth_is_stale(project_root: Path, *, env: str | None = None) -> bool:
    """True unless cdk.out came from ``synth`` covering ``env`` and no input changed since."""
    output_dir = assembly_dir(project_root)
    try:
        stamp = json.loads((output_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return True
    if stamp.get("environment") not in (None, env):
        return True
    if stamp.get("manifest") != _manifest_digest(output_dir):
        return True  # synthesized by hand since
    current = inputs_fingerprint(project_root)
    return current is None or stamp.get("inputs") != current


def check_environment(project_root: Path, env: str | None) -> None:
    """Fail naming the environments fargate-parity.toml defines when ``env`` is not one."""
    if env is not None:
        load_config(project_root).environment(env)


def inputs_fingerprint(project_root: Path) -> str | None:
    """A digest of the synth inputs' paths, sizes and mtimes; None when git cannot list them."""
    try:
        listed = subprocess.run(
            [
                "git",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--",
                *load_config(project_root).synth_inputs,
            ],
            cwd=project_root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    digest = hashlib.sha256()
    for relative in sorted(set(listed.decode().split("\0")) - {""}):
        try:
            status = (project_root / relative).stat()
            digest.update(f"{relative}\0{status.st_size}\0{status.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            digest.update(f"{relative}\0deleted\n".encode())
    return digest.hexdigest()


def _context(config: HarnessConfig, env: str | None) -> list[str]:
    """``--context KEY=VALUE`` of the environment (none: synth every environment at once)."""
    if env is None:
        return []
    context = config.environment(env).context
    return [
        argument for key, value in context.items() for argument in ("--context", f"{key}={value}")
    ]


def _manifest_digest(output_dir: Path) -> str | None:
    try:
        return hashlib.sha256((output_dir / "manifest.json").read_bytes()).hexdigest()
    except OSError:
        return None


def _run_cli(command: list[str], *, cwd: Path, what: str) -> str:
    environment = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": os.environ.get(
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", SILENCED_NODE_MAJORS
        ),
    }
    try:
        # Tied to this process: a killed invoke takes cdk and the app's processes along.
        result = run_tied(
            command,
            cwd=cwd,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=CLI_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{what} did not finish within {CLI_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise HarnessError(f"{what} failed (exit {result.returncode}): {_tail(result.stdout)}")
    return result.stdout


def _tail(output: str) -> str:
    """The last lines worth showing: the CLI's error lines when there are any."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return " | ".join((errors or lines)[-FAILURE_TAIL_LINES:]) or "no output"
