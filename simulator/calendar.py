"""Event time of the simulated city: timestamps and the calendar's effect on activity.

Simulated time is an integer number of seconds since local midnight (UTC+08:00) of
the first simulated day; :class:`Clock` turns it into wire timestamps
(``2025-03-04T09:30:00+08:00``) from precomputed tables, because formatting a
``datetime`` per event would dominate the generator's cost.

Activity depends on the calendar: offices work Monday to Friday and close for the
Spring Festival (春节) and National Day weeks; wage arrears (欠薪) peak in the
weeks before the Spring Festival, when migrant workers go home and claim their
pay; tax arrears appear after the quarterly filing deadline (the 15th of January,
April, July and October).

Examples
--------
>>> from datetime import date
>>> clock = Clock(date(2025, 1, 1), days=2)
>>> clock.stamp(86400 + 9 * 3600 + 30 * 60)
'2025-01-02T09:30:00+08:00'
>>> spring_festival(2026)
datetime.date(2026, 2, 17)
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from creditbrain.core.eventtime import CST

DAY = 86_400

#: 春节 (first day of the lunar year), for the years the simulator supports.
SPRING_FESTIVAL: dict[int, date] = {
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
}
FIRST_DAY = date(2020, 1, 1)
LAST_DAY = date(2031, 12, 31)

#: Share of a working day's activity on Saturday and Sunday.
_WEEKEND = (1.0, 1.0, 1.0, 1.0, 1.0, 0.12, 0.08)
_HOLIDAY = 0.1
#: Wage arrears: multiplier by days before the Spring Festival (upper bound inclusive).
_WAGE_PEAK = ((30, 4.0), (50, 2.5))
#: Tax arrears: multiplier in the days after a quarterly deadline.
_TAX_AFTER_DEADLINE = (20, 3.0)
_TAX_DEADLINE_MONTHS = (1, 4, 7, 10)


def spring_festival(year: int) -> date:
    """The first day of the lunar new year in ``year`` (2020–2031)."""
    return SPRING_FESTIVAL[year]


def is_holiday(day: date) -> bool:
    """Whether offices are closed for the Spring Festival or National Day week.

    >>> is_holiday(date(2025, 1, 30)), is_holiday(date(2025, 10, 3)), is_holiday(date(2025, 3, 3))
    (True, True, False)
    """
    festival = SPRING_FESTIVAL[day.year]
    if -1 <= (day - festival).days <= 5:
        return True
    return day.month == 10 and day.day <= 7


def activity(day: date) -> float:
    """How busy the city's offices are on ``day``, 1.0 for an ordinary working day.

    >>> activity(date(2025, 3, 3)), activity(date(2025, 3, 8))
    (1.0, 0.12)
    """
    return _HOLIDAY if is_holiday(day) else _WEEKEND[day.weekday()]


def wage_arrears_factor(day: date) -> float:
    """Wage-arrears reports on ``day`` relative to an ordinary day.

    >>> wage_arrears_factor(date(2025, 1, 10)), wage_arrears_factor(date(2025, 6, 10))
    (4.0, 1.0)
    """
    for year in (day.year, day.year + 1):
        festival = SPRING_FESTIVAL.get(year)
        if festival is None:
            continue
        before = (festival - day).days
        for within, factor in _WAGE_PEAK:
            if 1 <= before <= within:
                return factor
    return 1.0


def tax_arrears_factor(day: date) -> float:
    """Tax-arrears reports on ``day`` relative to an ordinary day.

    >>> tax_arrears_factor(date(2025, 4, 20)), tax_arrears_factor(date(2025, 5, 20))
    (3.0, 1.0)
    """
    window, factor = _TAX_AFTER_DEADLINE
    for month in _TAX_DEADLINE_MONTHS:
        year = day.year if month <= day.month else day.year - 1
        after = (day - date(year, month, 15)).days
        if 1 <= after <= window:
            return factor
    return 1.0


def midnight_unix(day: date) -> int:
    """Unix seconds of local midnight (UTC+08:00) starting ``day``.

    >>> midnight_unix(date(2025, 1, 1))
    1735660800
    """
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


class Clock:
    """Wire timestamps for simulated seconds, from tables built once.

    Parameters
    ----------
    start
        The first simulated day; second 0 is its local midnight.
    days
        How many days the simulation spans. Timestamps up to three years and a
        month past the end can still be formatted (publicity periods, late reports).
    """

    _MARGIN_DAYS = 1_130

    def __init__(self, start: date, days: int) -> None:
        self.start = start
        self.days = days
        self.epoch = midnight_unix(start)
        covered = days + self._MARGIN_DAYS
        dates = [start + timedelta(days=i) for i in range(covered)]
        self.dates = dates[:days]
        self.day_prefixes = [d.isoformat() + "T" for d in dates]
        self.years = [d.year for d in dates]
        self.time_suffixes = [
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+08:00" for s in range(DAY)
        ]

    def stamp(self, second: int) -> str:
        """The ISO-8601 timestamp (with ``+08:00``) of a simulated second."""
        day, rest = divmod(second, DAY)
        return self.day_prefixes[day] + self.time_suffixes[rest]


def time_of_day(rng: random.Random, working_day: bool) -> int:
    """Second of the day a record happens: office hours, with some early and late ones."""
    if not working_day:
        return 9 * 3600 + int(9 * 3600 * rng.random())
    if rng.random() < 0.85:
        return 8 * 3600 + 1800 + int(9 * 3600 * rng.random())
    return 7 * 3600 + int(15 * 3600 * rng.random())
