"""EventBridge schedule expressions: parsing, the next fire times, and one-line errors.

Expected dates come from the 2026 calendar: 1 January 2026 is a Thursday, 31 January a
Saturday, 1 August a Saturday, 31 May a Sunday; 2028 is a leap year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from parity.assembly.schedule import (
    CronSchedule,
    InvalidSchedule,
    RateSchedule,
    eventbridge_weekday,
    next_fire_times,
    parse_schedule,
)
from parity.errors import ConfigError

START = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)  # a Thursday


def at(month: int, day: int, hour: int = 0, minute: int = 0, *, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expression: str, count: int = 3, *, start: datetime = START) -> list[datetime]:
    return list(next_fire_times(parse_schedule(expression), start=start, count=count))


def fire_days(expression: str, count: int = 3, *, start: datetime = START) -> list[date]:
    return [moment.date() for moment in fires(expression, count, start=start)]


def invalid(expression: str) -> str:
    with pytest.raises(InvalidSchedule) as raised:
        parse_schedule(expression)
    message = str(raised.value)
    assert message.startswith(f"schedule {expression!r}: ")
    assert "\n" not in message
    return message


# -- rate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
    ],
)
def test_rate_intervals(expression: str, interval: timedelta) -> None:
    schedule = parse_schedule(expression)
    assert schedule == RateSchedule(expression=expression, interval=interval)


def test_rate_counts_from_the_start_and_keeps_its_seconds() -> None:
    # A rate rule starts when it is created; the first run is one interval later.
    assert fires("rate(1 minute)") == [
        START + timedelta(minutes=1),
        START + timedelta(minutes=2),
        START + timedelta(minutes=3),
    ]
    assert fires("rate(5 minutes)", 2) == [
        START + timedelta(minutes=5),
        START + timedelta(minutes=10),
    ]


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("rate(1 minutes)", "a rate of 1 takes the unit 'minute', not 'minutes'"),
        ("rate(5 minute)", "a rate of 5 takes the unit 'minutes', not 'minute'"),
        ("rate(1 hours)", "takes the unit 'hour'"),
        ("rate(0 minutes)", "a positive number"),
        ("rate(30 seconds)", "unit 'seconds' is not minute(s), hour(s) or day(s)"),
        ("rate(5)", "expected rate(value unit) or cron(six fields)"),
        ("rate(-1 minutes)", "expected rate(value unit)"),
        ("rate(1.5 hours)", "expected rate(value unit)"),
    ],
)
def test_invalid_rates(expression: str, complaint: str) -> None:
    assert complaint in invalid(expression)


# -- cron: minutes and hours -----------------------------------------------------------


def test_every_minute_fires_at_the_start_of_each_following_minute() -> None:
    assert fires("cron(0/1 * * * ? *)") == [at(1, 1, 10, 1), at(1, 1, 10, 2), at(1, 1, 10, 3)]
    assert fires("cron(* * * * ? *)") == fires("cron(0/1 * * * ? *)")


def test_fire_times_are_strictly_after_the_start() -> None:
    assert fires("cron(* * * * ? *)", 1, start=at(1, 1, 10, 1)) == [at(1, 1, 10, 2)]


def test_minute_increments_and_lists() -> None:
    assert fires("cron(0/15 * * * ? *)", 4) == [
        at(1, 1, 10, 15),
        at(1, 1, 10, 30),
        at(1, 1, 10, 45),
        at(1, 1, 11, 0),
    ]
    # EventBridge's own example: 1/10 is the 1st, 11th, 21st … minute.
    assert [m.minute for m in fires("cron(1/10 * * * ? *)", 6)] == [1, 11, 21, 31, 41, 51]
    assert [m.minute for m in fires("cron(*/20 * * * ? *)", 3)] == [20, 40, 0]
    assert [m.minute for m in fires("cron(5,35 * * * ? *)", 3)] == [5, 35, 5]
    assert [m.minute for m in fires("cron(10-40/10 * * * ? *)", 5)] == [10, 20, 30, 40, 10]


def test_daily_at_a_fixed_time() -> None:
    assert fires("cron(0 20 * * ? *)", 2) == [at(1, 1, 20), at(1, 2, 20)]
    assert fires("cron(30 9 * * ? *)", 1) == [at(1, 2, 9, 30)]  # 09:30 today has passed


def test_hour_ranges_with_steps_and_wrapping_ranges() -> None:
    assert [m.hour for m in fires("cron(0 8-18/2 * * ? *)", 6)] == [12, 14, 16, 18, 8, 10]
    # A range that wraps goes round the clock, as in Quartz.
    assert [m.hour for m in fires("cron(0 22-1 * * ? *)", 4)] == [22, 23, 0, 1]


def test_start_in_another_time_zone_is_read_as_utc() -> None:
    paris = timezone(timedelta(hours=1))
    start = datetime(2026, 1, 1, 21, 30, tzinfo=paris)  # 20:30 UTC
    assert fires("cron(0 21 * * ? *)", 1, start=start) == [at(1, 1, 21)]
    assert fires("cron(0 21 * * ? *)", 1, start=start)[0].tzinfo is UTC


def test_a_start_without_a_time_zone_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        fires("cron(* * * * ? *)", start=datetime(2026, 1, 1))


# -- cron: days, months and years ------------------------------------------------------


def test_weekdays_by_name_and_number() -> None:
    friday = at(1, 2, 10)
    assert fire_days("cron(0 9 ? * MON-FRI *)", 3, start=friday) == [
        date(2026, 1, 5),
        date(2026, 1, 6),
        date(2026, 1, 7),
    ]
    assert fires("cron(0 9 ? * 2-6 *)", 5) == fires("cron(0 9 ? * MON-FRI *)", 5)
    assert fires("cron(0 9 ? * mon-fri *)", 5) == fires("cron(0 9 ? * MON-FRI *)", 5)
    # 1 is Sunday.
    assert fire_days("cron(0 9 ? * 1 *)", 2) == [date(2026, 1, 4), date(2026, 1, 11)]
    assert fire_days("cron(0 9 ? * FRI-MON *)", 4) == [
        date(2026, 1, 2),
        date(2026, 1, 3),
        date(2026, 1, 4),
        date(2026, 1, 5),
    ]


def test_eventbridge_numbers_sunday_1_to_saturday_7() -> None:
    week = [eventbridge_weekday(date(2026, 1, day)) for day in range(4, 11)]  # Sunday to Saturday
    assert week == [1, 2, 3, 4, 5, 6, 7]


def test_days_of_month_and_month_names() -> None:
    assert fire_days("cron(0 0 1,15 * ? *)", 3) == [
        date(2026, 1, 15),
        date(2026, 2, 1),
        date(2026, 2, 15),
    ]
    assert fire_days("cron(0 0 1 JAN,JUL ? *)", 2) == [date(2026, 7, 1), date(2027, 1, 1)]
    # A day a month does not have is skipped in that month.
    assert fire_days("cron(0 0 31 * ? *)", 3) == [
        date(2026, 1, 31),
        date(2026, 3, 31),
        date(2026, 5, 31),
    ]


def test_last_day_of_the_month() -> None:
    assert fire_days("cron(0 0 L * ? *)", 3) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    assert fire_days("cron(0 0 L FEB ? *)", 3) == [
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_last_weekday_of_the_month() -> None:
    # 31 Jan 2026 is a Saturday, 28 Feb a Saturday, 31 Mar a Tuesday, 31 May a Sunday.
    assert fire_days("cron(0 0 LW * ? *)", 5) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 29),
    ]


def test_nearest_weekday_stays_in_its_month() -> None:
    # 3 Jan 2026 is a Saturday -> Friday 2nd; 3 Feb a Tuesday; 3 May a Sunday -> Monday 4th.
    assert fire_days("cron(0 0 3W * ? *)", 5) == [
        date(2026, 1, 2),
        date(2026, 2, 3),
        date(2026, 3, 3),
        date(2026, 4, 3),
        date(2026, 5, 4),
    ]
    # 1 Aug 2026 is a Saturday: the nearest weekday in August is Monday the 3rd, not July 31.
    assert fire_days("cron(0 0 1W AUG ? *)", 1) == [date(2026, 8, 3)]
    # The 31st: Saturday 31 Jan -> 30th; no 31 Feb; Sunday 31 May -> Friday 29th.
    assert fire_days("cron(0 0 31W * ? *)", 4) == [
        date(2026, 1, 30),
        date(2026, 3, 31),
        date(2026, 5, 29),
        date(2026, 7, 31),
    ]


def test_nth_weekday_of_the_month() -> None:
    # EventBridge's own example: 3#2 is the second Tuesday.
    assert fire_days("cron(0 0 ? * 3#2 *)", 3) == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
    ]
    assert fire_days("cron(0 0 ? * MON#1 *)", 3) == [
        date(2026, 1, 5),
        date(2026, 2, 2),
        date(2026, 3, 2),
    ]
    # A fifth Thursday exists only in some months.
    assert fire_days("cron(0 0 ? * 5#5 *)", 2) == [date(2026, 1, 29), date(2026, 4, 30)]


def test_last_weekday_kind_of_the_month_and_last_day_of_the_week() -> None:
    assert fire_days("cron(15 10 ? * 6L *)", 3) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
    ]
    assert fire_days("cron(0 0 ? * FRIL *)", 3) == fire_days("cron(15 10 ? * 6L *)", 3)
    # L alone is the last day of the week: Saturday.
    assert fire_days("cron(0 0 ? * L *)", 2) == [date(2026, 1, 3), date(2026, 1, 10)]


def test_years_bound_the_schedule() -> None:
    assert fires("cron(0 0 1 1 ? 2027-2028)", 3) == [
        at(1, 1, year=2027),
        at(1, 1, year=2028),
    ]
    assert fires("cron(0 0 1 1 ? 2199)", 2) == [at(1, 1, year=2199)]
    assert fires("cron(0 0 1 1 ? 2020)") == []


def test_parsed_fields() -> None:
    schedule = parse_schedule("cron(0/15 8-9 ? JAN-MAR MON#2 2026)")
    assert isinstance(schedule, CronSchedule)
    assert schedule.minutes == {0, 15, 30, 45}
    assert schedule.hours == {8, 9}
    assert schedule.months == {1, 2, 3}
    assert schedule.years == {2026}
    assert schedule.day_of_month is None
    assert schedule.day_of_week is not None
    assert schedule.day_of_week.nth_in_month == (2, 2)


# -- cron: what EventBridge rejects ----------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "complaint"),
    [
        ("cron(* * * * ?)", "cron takes 6 fields"),
        ("cron(0 * * * ? * *)", "not 7"),
        ("cron(* * * * * *)", "exactly one of Day-of-month and Day-of-week must be ?"),
        ("cron(* * ? * ? *)", "exactly one of Day-of-month and Day-of-week must be ?"),
        ("cron(? * * * ? *)", "? is only for Day-of-month or Day-of-week, not Minutes"),
        ("cron(60 * * * ? *)", "Minutes value 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "Hours value 24 is outside 0-23"),
        ("cron(0 0 0 * ? *)", "Day-of-month value 0 is outside 1-31"),
        ("cron(0 0 32 * ? *)", "Day-of-month value 32 is outside 1-31"),
        ("cron(0 0 1 13 ? *)", "Month value 13 is outside 1-12"),
        ("cron(0 0 ? * 8 *)", "Day-of-week value 8 is outside 1-7"),
        ("cron(0 0 1 * ? 1969)", "Year value 1969 is outside 1970-2199"),
        ("cron(0 0 1 * ? 2200)", "Year value 2200 is outside 1970-2199"),
        ("cron(0/0 * * * ? *)", "needs a step of 1 or more"),
        ("cron(0/x * * * ? *)", "needs a step of 1 or more"),
        ("cron(0 0 ? * 3#1,6#3 *)", "a # stands alone"),
        ("cron(0 0 ? * 3#6 *)", "weeks 1-5 only"),
        ("cron(0 0 1 FOO ? *)", "Month value 'FOO' is not a number"),
        ("cron(0 0 ? * SUNDAY *)", "Day-of-week value 'SUNDAY' is not a number"),
        ("cron(0 0 L-3 * ? *)", "L and W are supported as L, LW and 15W"),
        ("cron(0 0 ? * 2W *)", "Day-of-week value '2W' is not a number"),
        ("cron(0 0 1- * ? *)", "Day-of-month value '' is not a number"),
        ("cron()", "cron takes 6 fields"),
        ("at(2026-01-01T00:00:00)", "expected rate(value unit) or cron(six fields)"),
        ("every minute", "expected rate(value unit) or cron(six fields)"),
    ],
)  # fmt: skip
def test_invalid_cron_expressions(expression: str, complaint: str) -> None:
    assert complaint in invalid(expression)


def test_an_invalid_schedule_is_a_config_error() -> None:
    # tasks.py turns HarnessError subclasses into one line; a schedule is user input.
    assert issubclass(InvalidSchedule, ConfigError)
