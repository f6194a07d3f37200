"""The local scheduler: every scheduled ECS task of a run, on its schedule, as EventBridge runs it.

After the migration gate each EventBridge rule (or EventBridge Scheduler schedule) with an ECS
target gets a background thread that sleeps until the schedule's next fire time (in UTC, from
``parity.assembly.schedule``) and then starts ``TaskCount`` tasks of the target's task
definition, with the target's overrides. Like EventBridge it never waits for the previous run:
overlapping runs are separate tasks (the app guards against overlap itself, as Laravel's
``withoutOverlapping`` does). A rate schedule counts from the start of the scheduler, as
EventBridge counts from the rule's creation; a fire time missed (a suspended laptop) is skipped,
not caught up.

``PARITY_SCHEDULE_OVERRIDE`` (a named local override, listed by ``invoke parity``) replaces every
schedule's expression, e.g. ``rate(10 seconds)`` in tests: EventBridge's own minimum is a minute.
"""

from __future__ import annotations

import dataclasses
import re
import secrets as random_tokens
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from docker.errors import DockerException

from parity.assembly.apptasks import AppTasks
from parity.assembly.rules import UTC_ZONES, ScheduledTask
from parity.assembly.schedule import (
    CronSchedule,
    InvalidSchedule,
    RateSchedule,
    Schedule,
    next_fire_times,
    parse_schedule,
)
from parity.assembly.taskdef import TaskDefinition
from parity.console import console, note
from parity.errors import HarnessError
from parity.runtime.bringup import SCHEDULED_TASK, LocalRun
from parity.runtime.localrun import LogPrinter, placement
from parity.runtime.task import LocalTask, LogSink

OVERRIDE_VARIABLE = "PARITY_SCHEDULE_OVERRIDE"
# A scheduled task runs until it stops on its own; this bounds a hung one.
RUN_TIMEOUT_S = 3600.0
# A fire time further in the past than this was missed (the machine slept): skipped.
MISSED_AFTER = timedelta(seconds=5)
STOP_JOIN_TIMEOUT_S = 60.0
RUNS_KEPT = 100
_SECONDS_RATE = re.compile(r"rate\(\s*(?P<value>\d+)\s+(?P<unit>seconds?)\s*\)")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_override(expression: str) -> Schedule:
    """``PARITY_SCHEDULE_OVERRIDE``: any EventBridge expression, or ``rate(N seconds)``."""
    text = expression.strip()
    seconds = _SECONDS_RATE.fullmatch(text)
    if seconds is not None:
        value = int(seconds["value"])
        if value == 0 or seconds["unit"] != ("second" if value == 1 else "seconds"):
            raise InvalidSchedule(
                f"{OVERRIDE_VARIABLE}={expression!r}: write rate(1 second) or rate(N seconds),"
                " N of 1 or more"
            )
        return RateSchedule(expression=text, interval=timedelta(seconds=value))
    try:
        return parse_schedule(text)
    except InvalidSchedule as error:
        raise InvalidSchedule(
            f"{OVERRIDE_VARIABLE}: {error} (rate(N seconds) is accepted too)"
        ) from None


@dataclass(frozen=True, kw_only=True)
class PlannedSchedule:
    """A scheduled task with the schedule the local scheduler follows."""

    scheduled: ScheduledTask
    schedule: Schedule
    # The override's expression, when it replaced the template's.
    override: str | None = None

    @property
    def key(self) -> str:
        return self.scheduled.key

    @property
    def task(self) -> TaskDefinition:
        return self.scheduled.task

    def describe(self) -> str:
        written = self.scheduled.expression
        if self.override is None:
            return f"{written} (UTC)"
        return f"{self.override} ({OVERRIDE_VARIABLE}; the template says {written})"


def plan_schedules(tasks: AppTasks, override: str = "") -> tuple[PlannedSchedule, ...]:
    """Every scheduled task of the run with its parsed schedule; fails before anything starts
    when an expression (or the override) cannot run locally."""
    replacement = parse_override(override) if override.strip() else None
    return tuple(_plan(scheduled, replacement) for scheduled in tasks.schedules)


def _plan(scheduled: ScheduledTask, replacement: Schedule | None) -> PlannedSchedule:
    if replacement is not None:
        return PlannedSchedule(
            scheduled=scheduled, schedule=replacement, override=replacement.expression
        )
    try:
        schedule = parse_schedule(scheduled.expression)
    except InvalidSchedule as error:
        raise InvalidSchedule(
            f"{scheduled.where}: {error}; set {OVERRIDE_VARIABLE} to run it locally"
        ) from None
    if isinstance(schedule, CronSchedule) and scheduled.timezone not in UTC_ZONES:
        raise InvalidSchedule(
            f"{scheduled.where}: ScheduleExpressionTimezone is {scheduled.timezone}; the local"
            f" scheduler runs cron in UTC only; set {OVERRIDE_VARIABLE} to run it locally"
        )
    return PlannedSchedule(scheduled=scheduled, schedule=schedule)


@dataclass(frozen=True, kw_only=True)
class ScheduledRun:
    """One run the scheduler started: when it was due, and how its watched container ended."""

    key: str
    task_name: str
    due: datetime
    started: datetime
    exit_code: int | None = None
    error: str | None = None


@dataclass
class LocalScheduler:
    """The background threads of one run's schedules. ``start``, then ``stop`` (idempotent)."""

    run: LocalRun
    plans: tuple[PlannedSchedule, ...]
    log_sink: LogSink = field(default_factory=LogPrinter)
    clock: Clock = utc_now
    # The latest runs, newest last (a day of dev at one a minute would be 1440).
    runs: deque[ScheduledRun] = field(default_factory=lambda: deque(maxlen=RUNS_KEPT))
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _running: set[LocalTask] = field(default_factory=set)

    def start(self) -> None:
        """One thread per schedule, counting from now."""
        started_at = self.clock()
        for plan in self.plans:
            self._spawn(self._follow, plan, started_at, name=f"schedule-{plan.key}")
            upcoming = ", ".join(
                f"{moment:%H:%M:%S}Z"
                for moment in next_fire_times(plan.schedule, start=started_at, count=2)
            )
            note(
                f"{plan.key}: runs {plan.task.family or plan.task.logical_id} at "
                f"{plan.describe()}; next at {upcoming}"
            )

    def stop(self) -> None:
        """No new runs; the runs in flight get ECS's stop (SIGTERM, then stopTimeout)."""
        self._stopping.set()
        with self._lock:
            running = list(self._running)
            threads = list(self._threads)
        for task in running:
            task.stop(reason="the local scheduler stops")
        for thread in threads:
            thread.join(timeout=STOP_JOIN_TIMEOUT_S)

    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _follow(self, plan: PlannedSchedule, started_at: datetime) -> None:
        for due in plan.schedule.fire_times(start=started_at):
            wait_s = (due - self.clock()).total_seconds()
            if wait_s < -MISSED_AFTER.total_seconds():
                continue
            if self._stopping.wait(max(0.0, wait_s)):
                return
            for _ in range(plan.scheduled.task_count):
                self._spawn(self._run_once, plan, due, name=f"scheduled-{plan.key}")

    def _run_once(self, plan: PlannedSchedule, due: datetime) -> None:
        name = self.run.task_name(f"{SCHEDULED_TASK}-{plan.key}", random_tokens.token_hex(2))
        local = LocalTask(
            self.run.client,
            plan.task,
            placement(self.run.context, self.run.tasks, name),
            secrets=self.run.secrets.of(plan.task),
        )
        watched = next(c.name for c in plan.task.containers if c.essential)
        record = ScheduledRun(key=plan.key, task_name=name, due=due, started=self.clock())
        with self._lock:
            if self._stopping.is_set():
                return
            self._running.add(local)
        started = time.monotonic()
        console.print(f"[bold]{plan.key}:[/] scheduled run due {due:%H:%M:%S}Z starts ({name})")
        try:
            local.start()
            local.follow_logs(
                lambda container, line: self.log_sink(f"{plan.key}/{container}", line)
            )
            outcome = local.wait_until_stopped(RUN_TIMEOUT_S)
            local.join_logs()
            record = dataclasses.replace(record, exit_code=outcome.exit_code(watched))
            console.print(
                f"[bold]{plan.key}:[/] {watched} exited with {record.exit_code} after "
                f"{time.monotonic() - started:.1f}s"
            )
        # This thread is the run's boundary: whatever ends the run is the run's outcome.
        except Exception as error:
            reason = (
                str(error) if isinstance(error, HarnessError | DockerException) else repr(error)
            )
            record = dataclasses.replace(record, error=reason)
            console.print(f"[red]{plan.key}:[/] scheduled run failed: {reason}")
        finally:
            local.stop(reason="scheduled run finished")
            local.remove()
            with self._lock:
                self._running.discard(local)
                self.runs.append(record)
