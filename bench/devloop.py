"""Running ``invoke dev --detach`` (and the deploy) the way a developer does: each timed run
is a new interpreter (``bench.entry``), so it pays the CLI's start-up and imports."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import APIError, NotFound

from bench.measure import (
    RECORDED_WIDTH,
    BenchError,
    Stopwatch,
    rename_steps,
    steps_in,
    wait_for_200,
)
from bench.project import ProjectCopy
from parity.config.settings import LOCAL_ENVIRONMENT, HarnessSettings
from parity.engine.labels import RUN_LABEL, SCOPE_LABEL, TASK_LABEL, Scope
from parity.runtime.bringup import prepare_assembly
from parity.runtime.localrun import build_app_images, run_id_for

FIRST_200_TIMEOUT_S = 60.0
UNACCOUNTED = "between steps (interpreter start-up and imports, assembly, secrets, Docker calls)"
FRESH_RUN_TIMEOUT_S = 1800.0
OUTPUT_TAIL_LINES = 5
BENCH_HOME = Path(__file__).resolve().parent.parent  # where ``python -m bench.entry`` resolves


def dev_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/"


@dataclass(frozen=True)
class FreshRun:
    seconds: float  # from spawning the process to its exit
    stdout: str
    steps: dict[str, float]  # the harness's step lines


def run_fresh(*arguments: str, what: str, timeout_s: float = FRESH_RUN_TIMEOUT_S) -> FreshRun:
    """``python -m bench.entry ARGUMENTS`` in a new interpreter; its output is kept and its
    step lines collected (COLUMNS keeps rich from wrapping them)."""
    clock = Stopwatch()
    result = subprocess.run(
        [sys.executable, "-m", "bench.entry", *arguments],
        cwd=BENCH_HOME,
        env={**os.environ, "COLUMNS": str(RECORDED_WIDTH)},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    seconds = clock.elapsed()
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-OUTPUT_TAIL_LINES:])
        raise BenchError(f"{what} failed (exit {result.returncode}): {tail}")
    return FreshRun(seconds=seconds, stdout=result.stdout, steps=steps_in(result.stderr))


def dev_detach(
    project: ProjectCopy, *, port: int, source_mounts: bool = False, vite_port: int | None = None
) -> FreshRun:
    """`invoke dev --detach --port PORT [--source-mounts] [--hot --vite-port VITE_PORT]` in
    ``project``, in a new process; ``vite_port`` turns on hot mode."""
    mounts = ["--source-mounts"] if source_mounts else []
    hot = ["--hot", "--vite-port", str(vite_port)] if vite_port is not None else []
    return run_fresh(
        "dev", str(project.root), "--port", str(port), *mounts, *hot, what="dev --detach"
    )


def timed_dev_to_first_200(
    project: ProjectCopy, *, port: int, source_mounts: bool = False
) -> tuple[float, dict[str, float]]:
    """Seconds from starting dev --detach to the first 200 on ``/``, and its timed steps
    (image tags named by what they are)."""
    clock = Stopwatch()
    run = dev_detach(project, port=port, source_mounts=source_mounts)
    wait_for_200(dev_url(port), timeout_s=FIRST_200_TIMEOUT_S)
    elapsed = clock.elapsed()
    return elapsed, with_unaccounted(rename_steps(run.steps, image_renames(project)), elapsed)


def with_unaccounted(steps: dict[str, float], elapsed: float) -> dict[str, float]:
    """Add the time no step line accounts for: the harness's own work between steps."""
    return {**steps, UNACCOUNTED: max(0.0, elapsed - sum(steps.values()))}


def prime(project: ProjectCopy, client: docker.DockerClient, settings: HarnessSettings) -> None:
    """Synthesize the copy and build its images (cached when unchanged): the warm state."""
    prepare_assembly(project.root, LOCAL_ENVIRONMENT)
    build_app_images(client, project.app_tasks(), certificates=settings.certificates())


def remove_service_tasks(client: docker.DockerClient, project_root: Path) -> None:
    """Stop only the service task of a dev run; MySQL keeps running (the hot state)."""
    filters = [f"{SCOPE_LABEL}={Scope.DEV}", f"{RUN_LABEL}={run_id_for(project_root)}"]
    for container in client.containers.list(all=True, filters={"label": filters}):
        if "-service-" in container.labels.get(TASK_LABEL, ""):
            with contextlib.suppress(NotFound, APIError):
                container.remove(force=True, v=True)


def image_renames(project: ProjectCopy) -> dict[str, str]:
    """Short names for the copy's asset tags in step breakdowns."""
    laravel, nginx = project.image_tags()
    return {laravel: "laravel image", nginx: "nginx image"}
