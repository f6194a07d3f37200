"""The deploy flow and the interface its two backends implement.

``deploy``: synth and checks, the diff, the migration stack, the migration gate, the service
stacks, wait until their services are stable, then the environment's other stacks.
``migrate``: only the gate. The flow owns the rules; a backend (ECS for qa and prod, the local
runtime for local) only carries out steps:

* the exit code that counts is the watched container's; a container that never exited with a
  code (image pull error, task stopped first) fails the gate, it never passes it;
* the service stacks are deployed only after the gate passed, and the environment's other
  stacks (those without an ECS service, such as a scheduled task's rule) only once the
  services are stable;
* a migration that outlives its timeout is stopped, and the deploy fails;
* RunTask carries a client token derived from the environment, the task definition and the
  deploy id, so a retried RunTask of the same deploy starts no second task;
* changes to a protected environment (prod) need an explicit confirmation, after the diff;
* the release checks (the pending migrations' SQL, and the previous release against the new
  schema) run before anything is deployed, and refuse migrations that break the running
  release unless the deploy was told why it may go ahead.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rich.text import Text

from parity.assembly.apptasks import DeployStacks
from parity.assembly.synth import check_environment
from parity.console import console, note, step
from parity.deploy.lock import deploy_lock
from parity.errors import ConfigError, MigrationFailed

CONFIRMATION_REQUIRED = frozenset({"prod"})
LOCK_DIR = Path(".cache")
DEFAULT_MIGRATION_TIMEOUT_S = 1800.0
DEFAULT_SERVICE_TIMEOUT_S = 1800.0
FAILURE_LOG_LINES = 30
# After a timeout's stop: how long the task may take to stop (ECS's stopTimeout is at most 120s).
STOPPED_WAIT_S = 150.0

# (container name, one log line); backends may call it from any thread.
LogSink = Callable[[str, str], None]


@dataclass(frozen=True, kw_only=True)
class MigrationTask:
    """What the migration stack deployed: the task definition and whose exit code counts."""

    task_definition: str  # ECS: the task definition ARN; local: any id that changes with it
    watched_container: str
    # Replaces the watched container's command (RunTask's containerOverrides); () keeps it.
    command: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MigrationRun:
    task_id: str  # ECS: the task ARN
    task: MigrationTask


@dataclass(frozen=True, kw_only=True)
class ContainerResult:
    name: str
    exit_code: int | None  # None: the container never exited with a code
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class MigrationOutcome:
    containers: Mapping[str, ContainerResult]
    stop_reason: str | None


class DeployBackend(Protocol):
    """The steps one target (ECS, or the local runtime) carries out for the flow."""

    def ensure_idle(self) -> None:
        """Raise DeployLocked when a deploy of this environment is already under way."""

    def deploy_stack(self, stack_name: str) -> None:
        """Deploy one stack of the synthesized assembly; return once it is deployed."""

    def migration_task(self) -> MigrationTask:
        """The migration task as deployed right now (read after its stack was deployed)."""

    def start_migration(self, task: MigrationTask, *, client_token: str) -> MigrationRun:
        """Start the task; the same token must return the task it started before."""

    def wait_for_migration(
        self, run: MigrationRun, *, timeout_s: float, on_log: LogSink
    ) -> MigrationOutcome | None:
        """Stream the task's logs to ``on_log`` until the watched container exits or the task
        stops; None when it still runs after ``timeout_s`` (the flow then stops it)."""

    def stop_migration(self, run: MigrationRun, *, reason: str) -> None:
        """Stop the task (the flow calls this on timeout); ``wait_for_migration`` then tells
        how it ended."""

    def recorded_since_start(self, run: MigrationRun) -> tuple[str, ...] | None:
        """The migrations the environment's repository table gained since the task started;
        None where the harness cannot read that table (a database inside a VPC)."""

    def wait_for_services(self, stack_name: str, *, timeout_s: float) -> None:
        """Return once every service of the stack runs the new version and is stable; raise
        DeployError when one rolled back or did not settle within ``timeout_s``."""


@dataclass(frozen=True, kw_only=True)
class DeployOptions:
    environment: str
    deploy_id: str
    confirm: bool = False
    migration_timeout_s: float = DEFAULT_MIGRATION_TIMEOUT_S
    service_timeout_s: float = DEFAULT_SERVICE_TIMEOUT_S


@dataclass(frozen=True, kw_only=True)
class PreDeploySteps:
    """Injected so the flow runs without the CDK CLI in tests."""

    synth: Callable[[], object]
    # After synth: the migration stack, the service stacks and the others, in deploy order.
    stacks: Callable[[], DeployStacks]
    check: Callable[[], object]
    # The migrations check and the previous-release run; raises when the policy refuses.
    release_checks: Callable[[], object]
    diff: Callable[[], str]  # returns the diff text to show


@dataclass(frozen=True, kw_only=True)
class GateResult:
    run: MigrationRun
    outcome: MigrationOutcome
    duration_s: float


@dataclass(frozen=True, kw_only=True)
class DeployReport:
    environment: str
    deploy_id: str
    gate: GateResult
    duration_s: float


def deploy(
    options: DeployOptions,
    *,
    backend: DeployBackend,
    pre_deploy: PreDeploySteps,
    project_root: Path,
) -> DeployReport:
    """The whole flow; raises a HarnessError subclass (one line) on any failure."""
    started = time.monotonic()
    check_environment(project_root, options.environment)
    with deploy_lock(options.environment, lock_dir=project_root / LOCK_DIR):
        _ensure_idle(backend, options.environment)
        with step("synthesizing the CDK app"):
            pre_deploy.synth()
        stacks = pre_deploy.stacks()
        with step("checking the templates"):
            pre_deploy.check()
        # Not one step: the checks show their own steps and report.
        note("release checks: the pending migrations against the running release")
        pre_deploy.release_checks()
        with step(f"diffing {options.environment} against what is deployed"):
            changes = pre_deploy.diff()
        console.print(changes, markup=False, highlight=False, soft_wrap=True)
        require_confirmation(options, action="deploying", review="the diff above")
        with step(f"deploying {stacks.migration}"):
            backend.deploy_stack(stacks.migration)
        gate = run_migration_gate(backend, options)
        for stack in stacks.services:
            with step(f"deploying {stack}"):
                backend.deploy_stack(stack)
        for stack in stacks.services:
            with step(f"waiting until the services of {stack} are stable"):
                backend.wait_for_services(stack, timeout_s=options.service_timeout_s)
        for stack in stacks.others:
            with step(f"deploying {stack}"):
                backend.deploy_stack(stack)
    return DeployReport(
        environment=options.environment,
        deploy_id=options.deploy_id,
        gate=gate,
        duration_s=time.monotonic() - started,
    )


def migrate(options: DeployOptions, *, backend: DeployBackend, project_root: Path) -> GateResult:
    """Only the gate: run the migration task that is deployed now, and judge it."""
    check_environment(project_root, options.environment)
    require_confirmation(options, action="running migrations", review="the pending migrations")
    with deploy_lock(options.environment, lock_dir=project_root / LOCK_DIR):
        _ensure_idle(backend, options.environment)
        return run_migration_gate(backend, options)


def run_migration_gate(backend: DeployBackend, options: DeployOptions) -> GateResult:
    """Start the migration task, stream its logs, and pass only if the watched container
    exited 0. On failure the last log lines and the stop reason are printed first."""
    with step("reading the migration task definition"):
        task = backend.migration_task()
    finished = run_task_once(backend, options, task, what="migration task")
    short_id = finished.short_id
    timeout_s = options.migration_timeout_s
    if finished.outcome is None:
        raise MigrationFailed(
            f"the migration did not finish within {timeout_s:.0f}s; task {short_id} was"
            f" stopped: {after_the_stop(finished.after_stop, task.watched_container)};"
            f" {recorded_after_the_stop(backend.recorded_since_start(finished.run))}; the"
            " service was left untouched"
        )
    failure = gate_failure(finished.outcome, watched_container=task.watched_container)
    if failure is not None:
        finished.print_failure()
        raise MigrationFailed(
            f"migration failed: {failure} (task {short_id}); the service was left untouched"
        )
    note(f"migration gate passed: {task.watched_container} exited 0")
    return GateResult(run=finished.run, outcome=finished.outcome, duration_s=finished.duration_s)


@dataclass(frozen=True, kw_only=True)
class FinishedTask:
    """One task run to its end, or stopped at its timeout (``outcome`` None)."""

    run: MigrationRun
    outcome: MigrationOutcome | None
    duration_s: float
    what: str
    recent_lines: tuple[str, ...]
    # After a timeout: how the task ended once it was stopped (None: it still ran).
    after_stop: MigrationOutcome | None = None

    @property
    def short_id(self) -> str:
        return self.run.task_id.rsplit("/", 1)[-1]

    def exit_code(self) -> int | None:
        """The watched container's exit code; None when it never exited with one."""
        if self.outcome is None:
            return None
        watched = self.outcome.containers.get(self.run.task.watched_container)
        return None if watched is None else watched.exit_code

    def print_failure(self) -> None:
        stop_reason = None if self.outcome is None else self.outcome.stop_reason
        _print_failure(
            self.recent_lines, what=f"{self.what} {self.short_id}", stop_reason=stop_reason
        )


def run_task_once(
    backend: DeployBackend, options: DeployOptions, task: MigrationTask, *, what: str
) -> FinishedTask:
    """Start ``task`` with this deploy's client token, stream its logs until the watched
    container exits, and stop it (printing its last lines) when it outlives the timeout."""
    token = client_token(
        environment=options.environment,
        task_definition=task.task_definition,
        deploy_id=options.deploy_id,
    )
    with step(f"starting the {what} ({task.task_definition})"):
        run = backend.start_migration(task, client_token=token)
    short_id = run.task_id.rsplit("/", 1)[-1]
    note(f"{what} {short_id}: the exit code of {task.watched_container} counts")
    recent_lines: deque[str] = deque(maxlen=FAILURE_LOG_LINES)

    def show(container: str, line: str) -> None:
        recent_lines.append(f"{container} │ {line}")
        console.print(Text.assemble((f"{container} │ ", "dim"), line), soft_wrap=True)

    timeout_s = options.migration_timeout_s
    started = time.monotonic()
    after_stop = None
    with step(f"running {what} {short_id} (timeout {timeout_s:.0f}s)"):
        outcome = backend.wait_for_migration(run, timeout_s=timeout_s, on_log=show)
        if outcome is None:
            reason = f"{what} timed out after {timeout_s:.0f}s (deploy {options.deploy_id})"
            backend.stop_migration(run, reason=reason)
            # A stop is a signal, not an undo: see how the task really ended.
            after_stop = backend.wait_for_migration(run, timeout_s=STOPPED_WAIT_S, on_log=show)
            _print_failure(recent_lines, what=f"{what} {short_id}", stop_reason=reason)
    return FinishedTask(
        run=run,
        outcome=outcome,
        duration_s=time.monotonic() - started,
        what=what,
        recent_lines=tuple(recent_lines),
        after_stop=after_stop,
    )


def gate_failure(outcome: MigrationOutcome, *, watched_container: str) -> str | None:
    """Why the gate fails, or None when it passes. Other containers' exits never count."""
    watched = outcome.containers.get(watched_container)
    if watched is None:
        return f"the task has no container {watched_container!r}"
    if watched.exit_code is None:
        because = watched.reason or outcome.stop_reason or "no reason given"
        return f"{watched_container} never exited with a code ({because})"
    if watched.exit_code != 0:
        because = f" ({watched.reason})" if watched.reason else ""
        return f"{watched_container} exited {watched.exit_code}{because}"
    return None


def after_the_stop(stopped: MigrationOutcome | None, watched_container: str) -> str:
    """How the watched container ended after a timeout's stop."""
    if stopped is None:
        return f"it still ran {STOPPED_WAIT_S:.0f}s later"
    watched = stopped.containers.get(watched_container)
    if watched is None or watched.exit_code is None:
        return f"{watched_container} then ended without an exit code"
    return f"{watched_container} then exited {watched.exit_code}"


def recorded_after_the_stop(gained: tuple[str, ...] | None) -> str:
    """What the migration recorded although it was stopped."""
    if gained is None:
        return (
            "whether it recorded migrations cannot be read from here (check the migrations table)"
        )
    if not gained:
        return "the migrations table gained nothing"
    return f"the migrations table gained {', '.join(gained)} (the stop did not undo them)"


def client_token(*, environment: str, task_definition: str, deploy_id: str) -> str:
    """RunTask's idempotency token (at most 64 ASCII characters): the same deploy of the same
    task definition always gets the same token."""
    return hashlib.sha256(f"{environment}\0{task_definition}\0{deploy_id}".encode()).hexdigest()


def new_deploy_id(environ: Mapping[str, str] = os.environ) -> str:
    """One id per GitHub Actions run attempt; a fresh one per run elsewhere. A re-run of a
    failed job is a new attempt, so it runs the migration again instead of re-reading the
    failed task."""
    run_id = environ.get("GITHUB_RUN_ID")
    if run_id:
        return f"gh-{run_id}-{environ.get('GITHUB_RUN_ATTEMPT', '1')}"
    return f"local-{uuid.uuid4().hex[:12]}"


def _ensure_idle(backend: DeployBackend, environment: str) -> None:
    with step(f"checking that no other deploy of {environment} is running"):
        backend.ensure_idle()


def require_confirmation(options: DeployOptions, *, action: str, review: str) -> None:
    if options.environment in CONFIRMATION_REQUIRED and not options.confirm:
        raise ConfigError(
            f"{action} on {options.environment} needs an explicit --confirm; review"
            f" {review} and run again with --confirm"
        )


def _print_failure(lines: Sequence[str], *, what: str, stop_reason: str | None) -> None:
    if lines:
        console.print(f"last {len(lines)} log lines of {what}:")
        for line in lines:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print(f"{what} wrote no log lines")
    console.print(
        f"stop reason: {stop_reason or 'none given'}", markup=False, highlight=False, soft_wrap=True
    )
