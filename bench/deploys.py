"""`invoke deploy --env local` for a version change, and the migration gate's latency.

Each deploy runs the same flow as the task (synth, cdk-nag/cfn-lint checks, diff, migration
stack, gate, service stack, stable) in a copy; every version after the first adds a
migration, so the Laravel image, the migration and the service task all change.

Gate latency, local: from the watched migration container's exit (Docker's
``State.FinishedAt``) to the flow's decision, the moment it asks the backend to deploy the
service stack. A wrapper around the backend observes both, with no change to ``parity/``.
On ECS the same figure comes from ``bench/gate_latency.py`` (the ECS backend against a
scripted Fargate on a simulated clock), next to the 15 s polling of
amazon-ecs-deploy-task-definition.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound

from bench.context import BenchContext, nonce
from bench.devloop import FreshRun, run_fresh
from bench.entry import GATE_RESULT_PREFIX
from bench.gate_latency import simulate
from bench.measure import (
    BenchError,
    Figure,
    free_loopback_port,
    median_figure,
    rename_steps,
)
from parity.assembly import synth as cdk
from parity.assembly.apptasks import deploy_stacks
from parity.assembly.checks import check_environment_templates
from parity.commands.dev import down
from parity.config.settings import LOCAL_ENVIRONMENT, HarnessSettings
from parity.console import note
from parity.deploy.backends import diff_for, open_backend
from parity.deploy.flow import (
    DeployBackend,
    DeployOptions,
    LogSink,
    MigrationOutcome,
    MigrationRun,
    MigrationTask,
    PreDeploySteps,
    new_deploy_id,
)
from parity.deploy.flow import deploy as run_deploy
from parity.engine.daemon import ensure_engine
from parity.engine.labels import CONTAINER_LABEL, TASK_LABEL

MIGRATION_TIMEOUT_S = 300.0
EXIT_EVENT_WAIT_S = 5.0
ECS_SEED = 2026
ADAPTIVE_STRATEGY = "adaptive (0.25 s -> 2 s cap)"
FIXED_15S_STRATEGY = "fixed 15 s"
VERSION_MIGRATION = """<?php
use Illuminate\\Database\\Migrations\\Migration;
use Illuminate\\Support\\Facades\\DB;

return new class extends Migration
{{
    public function up()
    {{
        DB::table('greetings')->insert([
            'message' => 'Hello from bench version {version}',
            'created_at' => now(),
            'updated_at' => now(),
        ]);
    }}

    public function down()
    {{
        DB::table('greetings')->where('message', 'Hello from bench version {version}')->delete();
    }}
}};
"""


def docker_time(value: str) -> float:
    """Docker's RFC 3339 timestamps carry nanoseconds; datetime takes microseconds."""
    whole, _, fraction = value.rstrip("Z").partition(".")
    seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return seconds + (float(f"0.{fraction}") if fraction else 0.0)


@dataclass
class ExitWatcher:
    """Waits for the die event of one container (found by its task and container labels)
    and reads its ``State.FinishedAt`` before the backend removes it."""

    client: docker.DockerClient
    task_name: str
    container: str
    since: float
    finished_at: float | None = None
    _stream: Any = None
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._stream = self.client.events(
            since=int(self.since),
            filters={
                "type": "container",
                "event": "die",
                "label": [f"{TASK_LABEL}={self.task_name}", f"{CONTAINER_LABEL}={self.container}"],
            },
            decode=True,
        )
        self._thread = threading.Thread(target=self._watch, daemon=True, name="exit-watcher")
        self._thread.start()

    def _watch(self) -> None:
        with contextlib.suppress(Exception):  # the stream is closed under us at the end
            for event in self._stream:
                try:
                    state = self.client.api.inspect_container(event["id"])["State"]
                    self.finished_at = docker_time(state["FinishedAt"])
                except (NotFound, APIError):
                    self.finished_at = int(event["timeNano"]) / 1e9
                return

    def stop(self) -> float | None:
        if self._thread is not None:
            self._thread.join(timeout=EXIT_EVENT_WAIT_S)
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
        return self.finished_at


@dataclass
class GateClock:
    """A DeployBackend that delegates every step and notes when the gate decided."""

    inner: DeployBackend
    client: docker.DockerClient
    service_stacks: tuple[str, ...]
    exited_at: float | None = None
    decided_at: float | None = None
    _started_at: float = field(default_factory=time.time)

    def ensure_idle(self) -> None:
        self.inner.ensure_idle()

    def deploy_stack(self, stack_name: str) -> None:
        if stack_name in self.service_stacks and self.decided_at is None:
            self.decided_at = time.time()
        self.inner.deploy_stack(stack_name)

    def migration_task(self) -> MigrationTask:
        return self.inner.migration_task()

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        self._started_at = time.time()
        return self.inner.start_migration(task, client_token=client_token)

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        watcher = ExitWatcher(
            self.client,
            task_name=run.task_id,
            container=run.task.watched_container,
            since=self._started_at - 1,
        )
        watcher.start()
        try:
            return self.inner.wait_for_migration(run, timeout_s=timeout_s, on_log=on_log)
        finally:
            self.exited_at = watcher.stop()

    def stop_migration(self, run: MigrationRun, *, reason: str) -> None:
        self.inner.stop_migration(run, reason=reason)

    def recorded_since_start(self, run: MigrationRun) -> tuple[str, ...] | None:
        return self.inner.recorded_since_start(run)

    def wait_for_services(self, stack_name: str, *, timeout_s: float) -> None:
        self.inner.wait_for_services(stack_name, timeout_s=timeout_s)


def deploy_local(project_root: Path, *, port: int) -> GateClock:
    """What `invoke deploy --env local --port PORT` does in ``project_root`` (run it in a
    fresh process: ``bench.entry deploy``), with the gate's timing observed."""
    options = DeployOptions(
        environment=LOCAL_ENVIRONMENT,
        deploy_id=new_deploy_id(),
        migration_timeout_s=MIGRATION_TIMEOUT_S,
    )
    steps = PreDeploySteps(
        synth=lambda: cdk.synth(project_root=project_root, env=LOCAL_ENVIRONMENT),
        stacks=lambda: deploy_stacks(
            project_root, LOCAL_ENVIRONMENT, cdk.assembly_dir(project_root)
        ),
        check=lambda: check_environment_templates(project_root, LOCAL_ENVIRONMENT),
        # Not timed here: the copy has no previous release in git. The release checks'
        # own time is in the deploy's output (their steps) and in reports/migrations-*.json.
        release_checks=lambda: None,
        diff=lambda: diff_for(LOCAL_ENVIRONMENT, project_root=project_root),
    )
    with open_backend(
        LOCAL_ENVIRONMENT,
        project_root=project_root,
        settings=HarnessSettings.from_environ(),
        local_port=port,
        emulator_port=0,
    ) as backend:
        clock = GateClock(
            backend,
            ensure_engine(),
            service_stacks=deploy_stacks(
                project_root, LOCAL_ENVIRONMENT, cdk.assembly_dir(project_root)
            ).services,
        )
        run_deploy(options, backend=clock, project_root=project_root, pre_deploy=steps)
    return clock


def gate_latency(run: FreshRun) -> float:
    """Seconds from the migration's exit to the gate's decision, as ``bench.entry`` printed."""
    for line in run.stdout.splitlines():
        if line.startswith(GATE_RESULT_PREFIX):
            timing = json.loads(line.removeprefix(GATE_RESULT_PREFIX))
            if timing["exited_at"] is None or timing["decided_at"] is None:
                break
            return float(timing["decided_at"]) - float(timing["exited_at"])
    raise BenchError("the migration's exit or the gate's decision was not observed")


def measure_deploys(bench: BenchContext) -> list[Figure]:
    project = bench.new_copy("deploy")
    port = free_loopback_port()
    first: list[float] = []
    changes: list[float] = []
    change_steps: list[dict[str, float]] = []
    gate_latencies: list[float] = []
    try:
        for version in range(bench.options.runs + 1):
            if version:
                project.add_migration(
                    f"2030_01_01_{version:06d}_bench_{bench.session_id}_v{version}",
                    VERSION_MIGRATION.format(version=f"{version}-{nonce()}"),
                )
            note(f"local deploy {version + 1}/{bench.options.runs + 1}")
            run = run_fresh(
                "deploy", str(project.root), "--port", str(port), what="deploy --env local"
            )
            bench.ledger.track(project.image_tags())
            gate_latencies.append(gate_latency(run))
            seconds = run.seconds
            laravel, nginx = project.image_tags()
            # The flow's steps nest the backend's (image builds, MySQL, the service task).
            renamed = rename_steps(run.steps, {laravel: "laravel image", nginx: "nginx image"})
            if version:
                changes.append(seconds)
                change_steps.append(renamed)
            else:
                first.append(seconds)
    finally:
        down(project.root, volumes=True)
        bench.ledger.remove_created()
    ecs = {row["strategy"]: row for row in simulate(bench.options.ecs_trials, ECS_SEED)}
    adaptive, fixed = ecs[ADAPTIVE_STRATEGY], ecs[FIXED_15S_STRATEGY]
    trials = bench.options.ecs_trials
    return [
        median_figure(
            "deploy_local_version_change_s",
            "invoke deploy --env local, version change (A to B)",
            changes,
            phases=change_steps,
            note=f"median of {len(changes)}; each adds a migration (new Laravel image)",
        ),
        median_figure(
            "deploy_local_first_s",
            "invoke deploy --env local, first deploy (nothing running)",
            first,
        ),
        median_figure(
            "gate_latency_local_s",
            "gate latency, local: migration exit to service deploy",
            gate_latencies,
            note=f"median of {len(gate_latencies)} deploys; from State.FinishedAt",
        ),
        Figure(
            key="gate_latency_ecs_adaptive_s",
            label="gate latency, ECS backend vs scripted Fargate (adaptive polling)",
            value=float(adaptive["p50_s"]),
            unit="s",
            note=f"p50 of {trials} simulated deploys; p95 {adaptive['p95_s']}s",
        ),
        Figure(
            key="gate_latency_ecs_fixed_15s_s",
            label="gate latency, peer baseline: 15 s polling (ecs-deploy-task-definition)",
            value=float(fixed["p50_s"]),
            unit="s",
            note=f"p50 of the same {trials} simulated deploys; p95 {fixed['p95_s']}s",
        ),
    ]
