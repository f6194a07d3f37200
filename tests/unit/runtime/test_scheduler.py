"""The local scheduler: which schedule it follows, and when it starts runs."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

import pytest

from parity.assembly.apptasks import AppTasks
from parity.assembly.rules import ScheduledTask
from parity.assembly.schedule import CronSchedule, InvalidSchedule, RateSchedule
from parity.assembly.taskdef import ContainerSpec, TaskDefinition
from parity.runtime.scheduler import (
    LocalScheduler,
    PlannedSchedule,
    parse_override,
    plan_schedules,
)

TASK = TaskDefinition(
    logical_id="CronTask",
    family="app-cron",
    network_mode="awsvpc",
    cpu_units=None,
    memory_mib=None,
    containers=(ContainerSpec(name="app", image="app:1"),),
)


def scheduled(expression: str = "rate(1 minute)", timezone: str = "UTC") -> ScheduledTask:
    return ScheduledTask(
        name="ScheduleRule322D6281",
        stack="App",
        resource_type="AWS::Events::Rule",
        expression=expression,
        timezone=timezone,
        task=TASK,
    )


def tasks_with(*schedules: ScheduledTask) -> AppTasks:
    tasks = MagicMock(spec=AppTasks)
    tasks.schedules = schedules
    return tasks


def test_without_an_override_each_template_expression_is_followed_in_utc() -> None:
    (plan,) = plan_schedules(tasks_with(scheduled()))
    assert plan.schedule == RateSchedule(expression="rate(1 minute)", interval=timedelta(minutes=1))
    assert (plan.key, plan.override, plan.describe()) == (
        "schedulerule",
        None,
        "rate(1 minute) (UTC)",
    )


def test_the_override_replaces_every_expression_and_may_count_seconds() -> None:
    plans = plan_schedules(
        tasks_with(scheduled(), scheduled("cron(0 3 * * ? *)")), " rate(10 seconds) "
    )
    assert {
        plan.schedule.interval for plan in plans if isinstance(plan.schedule, RateSchedule)
    } == {timedelta(seconds=10)}
    assert all(plan.override == "rate(10 seconds)" for plan in plans)
    assert "PARITY_SCHEDULE_OVERRIDE; the template says rate(1 minute)" in plans[0].describe()
    assert isinstance(parse_override("cron(*/5 * * * ? *)"), CronSchedule)


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("rate(0 seconds)", "rate(1 second) or rate(N seconds)"),
        ("rate(1 seconds)", "rate(1 second) or rate(N seconds)"),
        ("every 10s", "PARITY_SCHEDULE_OVERRIDE: schedule 'every 10s'"),
    ],
)
def test_an_override_the_scheduler_cannot_follow_is_one_line_naming_the_variable(
    override: str, problem: str
) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        plan_schedules(tasks_with(scheduled()), override)
    assert problem in str(caught.value)
    assert "PARITY_SCHEDULE_OVERRIDE" in str(caught.value)


def test_a_template_expression_it_cannot_follow_names_the_rule_and_the_override() -> None:
    with pytest.raises(InvalidSchedule, match=r"App:ScheduleRule322D6281: schedule 'at\(.*"
                       r"PARITY_SCHEDULE_OVERRIDE"):  # fmt: skip
        plan_schedules(tasks_with(scheduled("at(2030-01-01T00:00:00)")))
    with pytest.raises(
        InvalidSchedule, match="Europe/Berlin; the local scheduler runs cron in UTC"
    ):
        plan_schedules(tasks_with(scheduled("cron(0 3 * * ? *)", timezone="Europe/Berlin")))
    # A rate has no time zone to get wrong.
    assert plan_schedules(tasks_with(scheduled("rate(1 hour)", timezone="Europe/Berlin")))


class RecordingScheduler(LocalScheduler):
    """Records each run it would start; the first run never ends (a long scheduled task)."""

    def __init__(self, plans: tuple[PlannedSchedule, ...], start: datetime) -> None:
        super().__init__(run=MagicMock(), plans=plans, clock=lambda: start)
        self.dues: list[datetime] = []
        self.two_runs = threading.Event()
        self.release = threading.Event()

    def _run_once(self, plan: PlannedSchedule, due: datetime) -> None:
        self.dues.append(due)
        if len(self.dues) >= 2:
            self.two_runs.set()
        self.release.wait(timeout=10)


def test_runs_start_at_each_fire_time_without_waiting_for_the_previous_one() -> None:
    start = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    (plan,) = plan_schedules(tasks_with(scheduled()), "rate(1 second)")
    scheduler = RecordingScheduler((plan,), start)
    real_start = datetime.now(UTC)
    scheduler.clock = lambda: start + (datetime.now(UTC) - real_start)
    scheduler.start()
    try:
        assert scheduler.two_runs.wait(timeout=10), "a second run waited for the first"
        first, second = scheduler.dues[:2]
        # One interval after the scheduler started (a rate counts from then), then the next.
        assert timedelta(seconds=1) <= first - start < timedelta(seconds=1.5)
        assert second - first == timedelta(seconds=1)
    finally:
        scheduler.release.set()
        scheduler.stop()
    count = len(scheduler.dues)
    assert all(not thread.is_alive() for thread in scheduler._threads)
    assert len(scheduler.dues) == count, "no run starts after stop"


def test_a_fire_time_missed_while_the_machine_slept_is_skipped_not_caught_up() -> None:
    start = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    (plan,) = plan_schedules(tasks_with(scheduled()), "rate(1 second)")
    scheduler = RecordingScheduler((plan,), start)
    real_start = datetime.now(UTC)
    # The clock jumps an hour ahead after the start: 3600 fire times are in the past.
    scheduler.clock = lambda: start + timedelta(hours=1) + (datetime.now(UTC) - real_start)
    scheduler._spawn(scheduler._follow, plan, start, name="follow")
    try:
        assert scheduler.two_runs.wait(timeout=10)
        assert all(
            due > start + timedelta(hours=1) - timedelta(seconds=5) for due in scheduler.dues
        )
    finally:
        scheduler.release.set()
        scheduler.stop()


def test_the_schedules_task_keeps_its_definition() -> None:
    (plan,) = plan_schedules(tasks_with(scheduled()))
    assert plan.task is TASK
    assert dataclasses.replace(plan, override="x").task is TASK


class StartFails:
    """A task whose start fails the way a bug does (not a HarnessError)."""

    def __init__(self, *_: object, **__: object) -> None:
        self.stopped = False

    def start(self) -> None:
        raise KeyError("containerDefinitions")

    def stop(self, *, reason: str) -> None:
        self.stopped = True

    def remove(self) -> None:
        pass


def test_a_run_that_fails_with_any_error_is_recorded_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("parity.runtime.scheduler.LocalTask", StartFails)
    monkeypatch.setattr("parity.runtime.scheduler.placement", lambda *_, **__: None)
    (plan,) = plan_schedules(tasks_with(scheduled()), "")
    run = MagicMock()
    run.task_name.return_value = "parity-dev-x-scheduled-cron-ab12"
    scheduler = LocalScheduler(run=run, plans=(plan,))
    due = datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    scheduler._run_once(plan, due)
    (recorded,) = scheduler.runs
    assert recorded.due == due
    assert recorded.exit_code is None
    assert recorded.error == "KeyError('containerDefinitions')"
