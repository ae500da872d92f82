"""Daily routine: a surprise that recurs at the same time of day is the series' habit.

A nightly job that spikes at a jittered minute (a backup, a batch, a cron at 03:00
give or take half an hour) misses every seasonal profile: the profile learns one
phase per slot, the spike lands in a different slot each night and is averaged
away. The forecast views then call it an extreme surprise every night, and the
likelihood layer cannot help either: a dozen such surprises in a history of
thousands of points are still the top fraction of a percent, rarer than anything
else the series does.

What does tell them apart is *when* they come. :class:`DailyRecurrence` remembers
the surprising points of the last few days with their clock time; a surprise that
was matched (reached within ``worse`` of it, the incident filter's unit: ten times
rarer at most) within ``window`` seconds of the same clock time on at least
``least`` of the last ``days`` days is part of the daily routine. Its level is then
the share of those days that showed it, as ``-log10``: a probability per day rather
than per point, which is far below any alarm. One such surprise, or two on
different clocks, is no routine: an incident that starts at the same hour two days
running still alarms twice.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["DAY", "DailyRecurrence"]

#: Seconds in a day: timestamps are read on the clock they were written in.
DAY = 86_400.0


class DailyRecurrence:
    """Surprising points of the last ``days`` days, to recognise a daily routine.

    Parameters
    ----------
    days
        Earlier days looked at.
    window
        Seconds either side of the same clock time that count as the same time.
    least
        Earlier days that must show the surprise for it to be the routine.
    worse
        A remembered surprise matches one at most this much higher (in ``-log10``).
    floor
        Only surprises at least this high are remembered (the calm level).
    chance
        The match must be this unlikely (binomial tail) for surprises as frequent at
        the other hours as they were: a noisy series surprising at any hour shows
        one at every hour of most days, which is no routine.

    Examples
    --------
    A spike of about 20 every night within half an hour of 03:00: the first two
    nights are news, from the third on it is the routine.

    >>> routine = DailyRecurrence()
    >>> levels = []
    >>> for night, minute in enumerate([0, 25, -20, 10, -30]):
    ...     t = night * DAY + 3 * 3600.0 + 60.0 * minute
    ...     levels.append(round(routine.level(t, 20.0 + night % 2), 2))
    ...     routine.add(t, 20.0 + night % 2)
    >>> levels
    [20.0, 21.0, 0.43, 0.3, 0.2]

    A surprise ten times rarer than any seen at that hour is news again, and so is
    one at another hour:

    >>> routine.level(5 * DAY + 3 * 3600.0, 22.5), routine.level(5 * DAY + 9 * 3600.0, 20.0)
    (22.5, 20.0)
    """

    def __init__(
        self,
        days: int = 7,
        window: float = 3600.0,
        least: int = 2,
        worse: float = 1.0,
        floor: float = 3.0,
        chance: float = 0.01,
    ) -> None:
        self.chance = chance
        self.days = days
        self.window = window
        self.least = least
        self.worse = worse
        self.floor = floor
        # Bounded, so a series surprising at every point costs a bounded scan: the
        # oldest are dropped first, which can only leave a surprise unexplained.
        self._seen: deque[tuple[float, float]] = deque(maxlen=256)
        self._start: float | None = None

    def __len__(self) -> int:
        return len(self._seen)

    def level(self, t: float, level: float) -> float:
        """``level`` at time ``t``, or the daily share of it if it is the routine."""
        if level < self.floor or len(self._seen) < self.least or self._start is None:
            return level
        matched = set()
        elsewhere = 0
        for when, seen in self._seen:
            if seen < level - self.worse:
                continue
            days = round((t - when) / DAY)
            if 1 <= days <= self.days and abs(t - when - days * DAY) <= self.window:
                matched.add(days)
            else:
                elsewhere += 1
        if len(matched) < self.least:
            return level
        # As many days at this hour by chance? The rate of such surprises at the
        # other hours of the remembered days says how often a window would catch one.
        days_seen = min(float(self.days), (t - self._start) / DAY)
        outside = max(days_seen * (DAY - 2.0 * self.window), self.window)
        chance = -math.expm1(-elsewhere / outside * 2.0 * self.window)
        if _binomial_upper(len(matched), int(days_seen), chance) > self.chance:
            return level
        return min(level, -math.log10((len(matched) + 1) / (self.days + 1)))

    def add(self, t: float, level: float) -> None:
        """Remember the point at ``t`` if its ``level`` is surprising; forget old ones."""
        if self._start is None:
            self._start = t
        horizon = t - self.days * DAY - self.window
        while self._seen and self._seen[0][0] < horizon:
            self._seen.popleft()
        if level >= self.floor:
            self._seen.append((t, level))


def _binomial_upper(k: int, n: int, q: float) -> float:
    """Probability of at least ``k`` successes in ``n`` trials of probability ``q``.

    >>> round(_binomial_upper(2, 7, 0.5), 4), _binomial_upper(2, 7, 0.0), _binomial_upper(0, 3, 0.2)
    (0.9375, 0.0, 1.0)
    """
    if k <= 0:
        return 1.0
    if k > n or q <= 0.0:
        return 0.0
    return sum(math.comb(n, i) * q**i * (1.0 - q) ** (n - i) for i in range(k, n + 1))
