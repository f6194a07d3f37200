"""EventBridge schedule expressions, read as EventBridge reads them: ``rate(…)`` and ``cron(…)``.

A scheduled rule's ``ScheduleExpression`` decides when its targets run. Both forms are UTC (a
rule has no time zone) and minute-grained. A rate schedule counts from the moment the rule was
created or enabled; a cron schedule fires at the start of every minute its six fields match
(Minutes Hours Day-of-month Month Day-of-week Year), with EventBridge's wildcards:

* ``,`` lists, ``-`` ranges (a range that wraps, such as ``FRI-MON``, goes round as in Quartz),
  ``*`` everything, ``/`` increments (``0/15``, ``*/5``, ``10-40/10``);
* ``?`` in exactly one of Day-of-month and Day-of-week: the other one decides the day;
* Day-of-month ``L`` (the last day), ``LW`` (the last weekday) and ``3W`` (the weekday nearest
  the 3rd, never leaving the month);
* Day-of-week ``1``-``7`` or ``SUN``-``SAT`` (1 is Sunday), ``L`` (Saturday, the last day of the
  week), ``6L`` (the last Friday of the month) and ``3#2`` (the second Tuesday), a ``#`` alone
  in its field.

Pure functions: nothing here reads a clock. ``fire_times`` yields the times after a given start.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from parity.errors import ConfigError

_RATE = re.compile(r"rate\(\s*(?P<value>\d+)\s+(?P<unit>[a-z]+)\s*\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_RATE_UNITS: Mapping[str, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
CRON_FIELD_NAMES = ("Minutes", "Hours", "Day-of-month", "Month", "Day-of-week", "Year")
FIRST_YEAR, LAST_YEAR = 1970, 2199
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
SATURDAY = 7
_NEAREST_WEEKDAY = re.compile(r"(?P<day>\d+)W")
_LAST_OF_WEEKDAY = re.compile(r"(?P<weekday>[0-9A-Z]+)L")
_NTH_WEEKDAY = re.compile(r"(?P<weekday>[0-9A-Z]+)#(?P<nth>\d+)")


class InvalidSchedule(ConfigError):
    """A schedule expression EventBridge would not accept, or one the local scheduler cannot run."""


@dataclass(frozen=True, kw_only=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[0] stands for ``low``

    def number(self, text: str, expression: str) -> int:
        if text in self.names:
            return self.low + self.names.index(text)
        if not text.isdigit():
            raise _invalid(expression, f"{self.name} value {text!r} is not a number")
        value = int(text)
        if not self.low <= value <= self.high:
            raise _invalid(
                expression, f"{self.name} value {value} is outside {self.low}-{self.high}"
            )
        return value

    def values(self, text: str, expression: str) -> frozenset[int]:
        """The numbers a list of ``*``, ``a``, ``a-b`` and ``…/step`` items stands for."""
        found: set[int] = set()
        for item in text.split(","):
            found |= self._item(item, expression)
        return frozenset(found)

    def _item(self, item: str, expression: str) -> set[int]:
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                problem = f"{self.name} increment {item!r} needs a step of 1 or more"
                raise _invalid(expression, problem)
            step = int(step_text)
        first_text, dash, last_text = span.partition("-")
        if span == "*":
            first, last = self.low, self.high
        elif dash:
            first, last = self.number(first_text, expression), self.number(last_text, expression)
        else:
            # "5/15" starts at 5 and runs to the field's end; a bare "5" is just 5.
            first = self.number(span, expression)
            last = self.high if slash else first
        size = self.high - self.low + 1
        length = (last - first) % size + 1  # a range that wraps goes round the field once
        return {self.low + (first - self.low + offset) % size for offset in range(0, length, step)}


_MINUTES = _Field(name="Minutes", low=0, high=59)
_HOURS = _Field(name="Hours", low=0, high=23)
_DAYS_OF_MONTH = _Field(name="Day-of-month", low=1, high=31)
_MONTHS = _Field(name="Month", low=1, high=12, names=MONTH_NAMES)
_DAYS_OF_WEEK = _Field(name="Day-of-week", low=1, high=7, names=WEEKDAY_NAMES)
_YEARS = _Field(name="Year", low=FIRST_YEAR, high=LAST_YEAR)


@dataclass(frozen=True, kw_only=True)
class DayOfMonthRule:
    """Day-of-month: plain days, ``L``, ``LW`` and ``nW``."""

    days: frozenset[int] = frozenset()
    last_day: bool = False
    last_weekday: bool = False
    nearest_weekday_to: frozenset[int] = frozenset()

    def matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        return (
            day.day in self.days
            or (self.last_day and day.day == last)
            or (self.last_weekday and day.day == _weekday_on_or_before(day.year, day.month, last))
            or any(
                day.day == _nearest_weekday(day.year, day.month, target)
                for target in self.nearest_weekday_to
            )
        )


@dataclass(frozen=True, kw_only=True)
class DayOfWeekRule:
    """Day-of-week (1 is Sunday): plain weekdays, ``L``, ``nL`` and one ``d#n``."""

    weekdays: frozenset[int] = frozenset()
    last_in_month: frozenset[int] = frozenset()
    nth_in_month: tuple[int, int] | None = None  # (weekday, n)

    def matches(self, day: date) -> bool:
        weekday = eventbridge_weekday(day)
        last = calendar.monthrange(day.year, day.month)[1]
        return (
            weekday in self.weekdays
            or (weekday in self.last_in_month and day.day + 7 > last)
            or self.nth_in_month == (weekday, (day.day - 1) // 7 + 1)
        )


@dataclass(frozen=True, kw_only=True)
class RateSchedule:
    """``rate(value unit)``: every ``interval``, counted from when the rule was created/enabled."""

    expression: str
    interval: timedelta

    def fire_times(self, *, start: datetime) -> Iterator[datetime]:
        """``start`` + 1, 2, 3… intervals: the first run comes one interval after the start."""
        moment = _utc(start)
        while True:
            moment += self.interval
            yield moment


@dataclass(frozen=True, kw_only=True)
class CronSchedule:
    """``cron(Minutes Hours Day-of-month Month Day-of-week Year)``, in UTC."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    # Exactly one is set; the other field was "?".
    day_of_month: DayOfMonthRule | None
    day_of_week: DayOfWeekRule | None

    def matches_day(self, day: date) -> bool:
        rule = self.day_of_month if self.day_of_month is not None else self.day_of_week
        return rule is not None and rule.matches(day)

    def fire_times(self, *, start: datetime) -> Iterator[datetime]:
        """Every matching minute strictly after ``start``, in order, up to the last year (2199)."""
        after = _utc(start)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for year in sorted(y for y in self.years if y >= after.year):
            for month in sorted(self.months):
                if (year, month) < (after.year, after.month):
                    continue
                for day_number in range(1, calendar.monthrange(year, month)[1] + 1):
                    day = date(year, month, day_number)
                    if day < after.date() or not self.matches_day(day):
                        continue
                    for hour in hours:
                        for minute in minutes:
                            moment = datetime(year, month, day_number, hour, minute, tzinfo=UTC)
                            if moment > after:
                                yield moment


Schedule = RateSchedule | CronSchedule


def parse_schedule(expression: str) -> Schedule:
    """A rule's ``ScheduleExpression``; ``InvalidSchedule`` (one line) names what is wrong."""
    text = expression.strip()
    rate = _RATE.fullmatch(text)
    if rate is not None:
        return _rate(expression, value=int(rate["value"]), unit=rate["unit"])
    cron = _CRON.fullmatch(text)
    if cron is not None:
        return _cron(expression, cron["fields"].split())
    raise _invalid(expression, "expected rate(value unit) or cron(six fields)")


def next_fire_times(schedule: Schedule, *, start: datetime, count: int) -> tuple[datetime, ...]:
    """The next ``count`` fire times after ``start`` (fewer when a cron schedule ends first)."""
    return tuple(islice(schedule.fire_times(start=start), count))


def eventbridge_weekday(day: date) -> int:
    """EventBridge's day-of-week number: 1 is Sunday, 7 is Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _rate(expression: str, *, value: int, unit: str) -> RateSchedule:
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise _invalid(expression, f"unit {unit!r} is not minute(s), hour(s) or day(s)")
    if value == 0:
        raise _invalid(expression, "the rate must be a positive number")
    wanted = singular if value == 1 else f"{singular}s"
    if unit != wanted:
        raise _invalid(expression, f"a rate of {value} takes the unit {wanted!r}, not {unit!r}")
    return RateSchedule(expression=expression, interval=value * _RATE_UNITS[singular])


def _cron(expression: str, fields: list[str]) -> CronSchedule:
    if len(fields) != len(CRON_FIELD_NAMES):
        raise _invalid(
            expression,
            f"cron takes {len(CRON_FIELD_NAMES)} fields ({' '.join(CRON_FIELD_NAMES)}), "
            f"not {len(fields)}",
        )
    minutes, hours, day_of_month, month, day_of_week, year = (field.upper() for field in fields)
    if (day_of_month == "?") == (day_of_week == "?"):
        raise _invalid(expression, "exactly one of Day-of-month and Day-of-week must be ?")
    for name, value in (("Minutes", minutes), ("Hours", hours), ("Month", month), ("Year", year)):
        if "?" in value:
            raise _invalid(expression, f"? is only for Day-of-month or Day-of-week, not {name}")
    return CronSchedule(
        expression=expression,
        minutes=_MINUTES.values(minutes, expression),
        hours=_HOURS.values(hours, expression),
        months=_MONTHS.values(month, expression),
        years=_YEARS.values(year, expression),
        day_of_month=None if day_of_month == "?" else _day_of_month(day_of_month, expression),
        day_of_week=None if day_of_week == "?" else _day_of_week(day_of_week, expression),
    )


def _day_of_month(text: str, expression: str) -> DayOfMonthRule:
    plain: list[str] = []
    last_day = last_weekday = False
    nearest: set[int] = set()
    for item in text.split(","):
        weekday_form = _NEAREST_WEEKDAY.fullmatch(item)
        if item == "L":
            last_day = True
        elif item == "LW":
            last_weekday = True
        elif weekday_form is not None:
            nearest.add(_DAYS_OF_MONTH.number(weekday_form["day"], expression))
        elif "L" in item or "W" in item:
            raise _invalid(
                expression, f"Day-of-month {item!r}: L and W are supported as L, LW and 15W"
            )
        else:
            plain.append(item)
    return DayOfMonthRule(
        days=_DAYS_OF_MONTH.values(",".join(plain), expression) if plain else frozenset(),
        last_day=last_day,
        last_weekday=last_weekday,
        nearest_weekday_to=frozenset(nearest),
    )


def _day_of_week(text: str, expression: str) -> DayOfWeekRule:
    items = text.split(",")
    if "#" in text:
        nth_form = _NTH_WEEKDAY.fullmatch(text)
        if len(items) > 1 or nth_form is None:
            raise _invalid(expression, f"Day-of-week {text!r}: a # stands alone, as in 3#2")
        nth = int(nth_form["nth"])
        if not 1 <= nth <= 5:
            raise _invalid(expression, f"Day-of-week {text!r}: a month has weeks 1-5 only")
        return DayOfWeekRule(
            nth_in_month=(_DAYS_OF_WEEK.number(nth_form["weekday"], expression), nth)
        )
    plain: list[str] = []
    last_in_month: set[int] = set()
    for item in items:
        last_form = _LAST_OF_WEEKDAY.fullmatch(item)
        if item == "L":
            plain.append(str(SATURDAY))
        elif last_form is not None:
            last_in_month.add(_DAYS_OF_WEEK.number(last_form["weekday"], expression))
        else:
            plain.append(item)
    return DayOfWeekRule(
        weekdays=_DAYS_OF_WEEK.values(",".join(plain), expression) if plain else frozenset(),
        last_in_month=frozenset(last_in_month),
    )


def _nearest_weekday(year: int, month: int, target: int) -> int | None:
    """The weekday nearest day ``target``, within the month; None when the month is shorter."""
    last = calendar.monthrange(year, month)[1]
    if target > last:
        return None
    weekday = date(year, month, target).weekday()  # Monday is 0
    if weekday == calendar.SATURDAY:
        return target + 2 if target == 1 else target - 1
    if weekday == calendar.SUNDAY:
        return target - 2 if target == last else target + 1
    return target


def _weekday_on_or_before(year: int, month: int, day: int) -> int:
    weekday = date(year, month, day).weekday()
    return day - max(0, weekday - calendar.FRIDAY)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; schedules run in UTC")
    return moment.astimezone(UTC)


def _invalid(expression: str, problem: str) -> InvalidSchedule:
    return InvalidSchedule(f"schedule {expression!r}: {problem}")
