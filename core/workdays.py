"""Working days of mainland China (工作日): deadlines counted the way offices count them.

Deadlines of regulators are set in working days and hours: an objection is
answered within 3 working days (山东省社会信用条例 Art. 39), a red warning is
acknowledged within 4 working hours. A working day is Monday to Friday, except the
statutory holidays, plus the weekend days worked to bridge them (放假调休); both
come from the State Council's yearly notice, kept as data in ``holidays_cn.toml``
(how to add a year is written at its top). Working hours run inside the office
windows of that file (08:30–12:00 and 13:30–17:30 CST by default).

Everything is event time: instants are epoch milliseconds, days are CST calendar
days, and no function looks at a wall clock. A year the data does not hold is an
error (:class:`~creditbrain.core.errors.ConfigurationError`), never a guess.

Examples
--------
>>> from datetime import date, datetime
>>> cal = default_calendar()
>>> cal.is_working_day(date(2026, 2, 14)), cal.is_working_day(date(2026, 2, 16))
(True, False)

An objection filed on Friday 13 February 2026, the eve of the Spring Festival
break: the adjusted Saturday counts, the nine days off do not.

>>> filed = to_epoch_ms(datetime(2026, 2, 13, 15, 0, tzinfo=CST))
>>> cst(cal.add_working_days(filed, 3))
'2026-02-25T17:30:00+08:00'

Four working hours from Friday 16:00 before a normal weekend:

>>> cst(cal.add_working_hours(to_epoch_ms(datetime(2026, 3, 6, 16, 0, tzinfo=CST)), 4))
'2026-03-09T11:00:00+08:00'
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import CST, DAY_MS, from_epoch_ms, to_epoch_ms

__all__ = ["WorkCalendar", "YearSchedule", "cst", "default_calendar"]

_HOUR_MS = 3_600_000
_CST_MS = 8 * _HOUR_MS
#: Enough days to cross the longest break (9 days off) many times over: a deadline
#: further away than this is a misconfiguration, not a calendar.
_MAX_DAYS = 800


def cst(ms: int) -> str:
    """An epoch-millisecond instant in CST, to the second (for messages and doctests).

    >>> cst(0)
    '1970-01-01T08:00:00+08:00'
    """
    return from_epoch_ms(ms).astimezone(CST).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year of the State Council's notice: days off on weekdays, weekends worked."""

    year: int
    days_off: frozenset[date]
    working_weekends: frozenset[date]
    source: str
    provisional: bool = False


def _parse_days(year: int, items: Iterable[object]) -> list[date]:
    days: list[date] = []
    for item in items:
        if isinstance(item, date):
            first = last = item
        elif isinstance(item, str):
            start, _, end = item.partition("..")
            first = date.fromisoformat(start)
            last = date.fromisoformat(end) if end else first
        else:
            raise ConfigurationError(f"calendar {year}: {item!r} is not a day or a range")
        if last < first or first.year != year or last.year != year:
            raise ConfigurationError(f"calendar {year}: {item!r} is not a range within {year}")
        days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


def _schedule(year: int, table: Mapping[str, object]) -> YearSchedule:
    off_items, work_items = table.get("off", []), table.get("work", [])
    if not isinstance(off_items, list) or not isinstance(work_items, list):
        raise ConfigurationError(f"calendar {year}: off and work are lists")
    off, work = _parse_days(year, off_items), _parse_days(year, work_items)
    if len(set(off)) != len(off) or set(off) & set(work):
        raise ConfigurationError(f"calendar {year}: a day is listed twice")
    weekdays = [day for day in work if day.weekday() < 5]
    if weekdays:
        raise ConfigurationError(f"calendar {year}: {weekdays[0]} is a weekday, not a weekend")
    return YearSchedule(
        year=year,
        days_off=frozenset(off),
        working_weekends=frozenset(work),
        source=str(table.get("source", "")),
        provisional=bool(table.get("provisional", False)),
    )


def _window(pair: object) -> tuple[int, int]:
    if not (isinstance(pair, list) and len(pair) == 2):
        raise ConfigurationError(f"calendar hours: {pair!r} is not [start, end]")
    start, end = (time.fromisoformat(str(value)) for value in pair)
    start_ms = (start.hour * 60 + start.minute) * 60_000
    end_ms = (end.hour * 60 + end.minute) * 60_000
    if end_ms <= start_ms:
        raise ConfigurationError(f"calendar hours: {pair!r} ends before it starts")
    return start_ms, end_ms


class WorkCalendar:
    """Working days and hours for the years it holds.

    Parameters
    ----------
    years
        The schedules by year.
    windows
        Office hours as (start, end) milliseconds after CST midnight, in order.

    Examples
    --------
    >>> cal = WorkCalendar.from_toml('''
    ... [hours]
    ... windows = [["09:00", "17:00"]]
    ... [years.2026]
    ... off = ["2026-10-01..2026-10-07"]
    ... work = [2026-10-10]
    ... ''')
    >>> cal.years, cal.next_working_day(date(2026, 9, 30))
    ((2026,), datetime.date(2026, 10, 8))
    >>> cal.is_working_day(date(2027, 1, 4))
    Traceback (most recent call last):
    ...
    creditbrain.core.errors.ConfigurationError: the working-day calendar holds no data for 2027 ...
    """

    def __init__(
        self, years: Mapping[int, YearSchedule], windows: Iterable[tuple[int, int]]
    ) -> None:
        self._years = dict(years)
        self.windows = tuple(sorted(windows))
        if not self.windows:
            raise ConfigurationError("calendar hours: no office window")
        for (_, end), (start, _) in zip(self.windows, self.windows[1:], strict=False):
            if start < end:
                raise ConfigurationError("calendar hours: office windows overlap")

    @classmethod
    def from_toml(cls, text: str) -> WorkCalendar:
        """Read a calendar in the format of ``holidays_cn.toml``."""
        try:
            doc = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as error:
            raise ConfigurationError(f"calendar: {error}") from error
        hours = doc.get("hours", {}).get("windows", [["08:30", "12:00"], ["13:30", "17:30"]])
        years = {int(y): _schedule(int(y), t) for y, t in doc.get("years", {}).items()}
        return cls(years, [_window(pair) for pair in hours])

    @classmethod
    def load(cls, path: Path) -> WorkCalendar:
        """Read a deployment's calendar file (a copy of ``holidays_cn.toml`` with more years)."""
        try:
            return cls.from_toml(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigurationError(f"calendar {path}: {error.strerror}") from error

    @property
    def years(self) -> tuple[int, ...]:
        """The years held, in order."""
        return tuple(sorted(self._years))

    def schedule(self, year: int) -> YearSchedule:
        """The schedule of ``year``; an error if the data does not hold it."""
        found = self._years.get(year)
        if found is None:
            raise ConfigurationError(
                f"the working-day calendar holds no data for {year} (it holds "
                f"{', '.join(map(str, self.years))}): add the year's State Council notice"
            )
        return found

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on ``day``."""
        schedule = self.schedule(day.year)
        if day in schedule.working_weekends:
            return True
        return day.weekday() < 5 and day not in schedule.days_off

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        for offset in range(1, _MAX_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ConfigurationError(f"no working day within {_MAX_DAYS} days after {day}")

    def add_working_days(self, at_ms: int, days: int) -> int:
        """Close of office on the ``days``-th working day after the CST day of ``at_ms``.

        The day of ``at_ms`` itself is not counted (a period starts the next day), so
        3 working days from any moment of a Tuesday end on Friday at closing time.

        >>> cal = default_calendar()
        >>> tuesday = to_epoch_ms(datetime(2026, 3, 3, 23, 0, tzinfo=CST))
        >>> cst(cal.add_working_days(tuesday, 3))
        '2026-03-06T17:30:00+08:00'
        """
        if days < 1:
            raise ConfigurationError(f"a period of working days is at least 1, not {days}")
        day = _day(at_ms)
        for _ in range(days):
            day = self.next_working_day(day)
        return _midnight_ms(day) + self.windows[-1][1]

    def add_working_hours(self, at_ms: int, hours: float) -> int:
        """The instant ``hours`` working hours after ``at_ms``, counted inside office windows.

        >>> cal = default_calendar()
        >>> evening = to_epoch_ms(datetime(2026, 3, 4, 20, 0, tzinfo=CST))
        >>> cst(cal.add_working_hours(evening, 4))
        '2026-03-05T14:00:00+08:00'
        """
        if hours <= 0:
            raise ConfigurationError(f"a period of working hours is positive, not {hours}")
        remaining = round(hours * _HOUR_MS)
        day = _day(at_ms)
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                midnight = _midnight_ms(day)
                for start, end in self.windows:
                    begin = max(at_ms, midnight + start)
                    available = midnight + end - begin
                    if available <= 0:
                        continue
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ConfigurationError(f"{hours} working hours reach beyond {_MAX_DAYS} days")


def _day(ms: int) -> date:
    return date(1970, 1, 1) + timedelta(days=(ms + _CST_MS) // DAY_MS)


def _midnight_ms(day: date) -> int:
    return to_epoch_ms(datetime(day.year, day.month, day.day, tzinfo=CST))


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    """The calendar shipped with creditbrain (``holidays_cn.toml``), read once."""
    text = (
        importlib.resources.files("creditbrain.core")
        .joinpath("holidays_cn.toml")
        .read_text(encoding="utf-8")
    )
    return WorkCalendar.from_toml(text)
