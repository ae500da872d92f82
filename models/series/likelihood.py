"""The likelihood layer: how unusual a point is for this series, and one score per incident.

The forecast views of :class:`~.model.SeriesModel` give a *surprise*, ``-log10 p`` of a
null tail probability ``p``. On real metrics that null is often wrong in a way that
differs from series to series: a nightly job that spikes at a jittered minute, a
counter of bytes whose bursts are routine, a gauge that jumps between two levels.
Such a series produces surprises of 10 or 300 every day, and a threshold on the raw
surprise either fires all day there or misses everything elsewhere. Two questions
put every series on one footing:

* *Is this surprise unusual for this series?* The surprise is compared with the
  distribution of the surprises the series has produced over its recent history
  (:class:`RecentDistribution`, upper tail).
* *Is this value outside what the series has shown?* The value itself is compared
  with the distribution of its recent values (two-sided): a CPU at a level never
  reached before, a counter falling below its usual floor.

Both answers are tail probabilities against the series' own past, so they mean the
same on every series. The detector takes the rarer of the two. Finally one incident
should give one alarm at its onset rather than a run of them
(:class:`IncidentFilter`).
"""

from __future__ import annotations

import bisect
import math
from collections import deque

__all__ = ["IncidentFilter", "RecentDistribution"]

_TINY = 1e-300
_LN2 = math.log(2.0)


class RecentDistribution:
    """Empirical distribution of the last ``memory`` values, with exponential tails.

    Within the range seen the tail probability of ``x`` is the share of remembered
    values at least as extreme (plus one, so that nothing seen is impossible). Beyond
    the most extreme value it falls off exponentially, at the rate of the ``share``
    most extreme values (at least ``min_tail`` of them), read from their median excess
    (a generalised Pareto tail of shape 0, fitted robustly so that a few huge values
    do not flatten it): a value far beyond everything seen is graded by how far,
    instead of scoring like any new record.

    Parameters
    ----------
    memory
        How many of the latest values are remembered.
    share
        Share of the remembered values that make up each tail.
    min_tail
        Fewest values in a tail.
    seen_exact
        Extrapolate only beyond the most extreme value remembered, counting within the
        whole range seen (for values, which may sit on a few discrete levels: a level
        visited ten times is not rare however far it is from the bulk). Otherwise the
        exponential starts at the tail, which also grades values within the range
        (for surprises, whose tail is what the layer is about).

    Examples
    --------
    >>> history = RecentDistribution()
    >>> for i in range(1000):
    ...     history.add(float(i))
    >>> round(history.upper(500.0), 2), round(history.upper(995.0), 3)
    (0.5, 0.005)
    >>> history.upper(1100.0) < 1e-9 < history.upper(1005.0) < 1e-3
    True
    >>> history.two_sided(-10.0) == history.two_sided(1009.0)
    True
    """

    def __init__(
        self, memory: int = 4096, share: float = 0.01, min_tail: int = 5, seen_exact: bool = False
    ) -> None:
        self.memory = memory
        self.seen_exact = seen_exact
        self.share = share
        self.min_tail = min_tail
        self._order: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._sorted)

    def add(self, x: float) -> None:
        """Remember ``x``, forgetting the oldest value once ``memory`` are kept."""
        if len(self._order) >= self.memory:
            old = self._order.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._order.append(x)
        bisect.insort(self._sorted, x)

    def _tail_size(self) -> int:
        return min(len(self._sorted), max(self.min_tail, int(self.share * len(self._sorted))))

    def upper(self, x: float) -> float:
        """Probability of a value at least ``x``; 1 while nothing is remembered."""
        values, n = self._sorted, len(self._sorted)
        if not n:
            return 1.0
        k = self._tail_size()
        start = values[-1] if self.seen_exact else values[n - k]
        if x <= start:
            return (n - bisect.bisect_left(values, x) + 1) / (n + 1)
        scale = self._positive((values[n - 1 - k // 2] - values[n - k]) / _LN2)
        beyond = (n - bisect.bisect_left(values, start) + 1) / (n + 1)
        return beyond * math.exp(-(x - start) / scale)

    def lower(self, x: float) -> float:
        """Probability of a value at most ``x``; 1 while nothing is remembered."""
        values, n = self._sorted, len(self._sorted)
        if not n:
            return 1.0
        k = self._tail_size()
        start = values[0] if self.seen_exact else values[k - 1]
        if x >= start:
            return (bisect.bisect_right(values, x) + 1) / (n + 1)
        scale = self._positive((values[k - 1] - values[k // 2]) / _LN2)
        beyond = (bisect.bisect_right(values, start) + 1) / (n + 1)
        return beyond * math.exp(-(start - x) / scale)

    def two_sided(self, x: float) -> float:
        """Probability of a value at least as far out as ``x`` on either side, capped at 1."""
        return min(1.0, 2.0 * min(self.upper(x), self.lower(x)))

    def _positive(self, excess: float) -> float:
        # A tail of identical values has no spread; the resolution is then a thousandth
        # of the remembered range (or of the value's own size on a flat series), so a
        # step off a flat line is extreme but still graded by its size.
        values = self._sorted
        spread = 1e-3 * (values[-1] - values[0]) or 1e-9 * max(1.0, abs(values[-1]))
        return max(excess, spread)


class IncidentFilter:
    """One alarm per incident: a score is kept only when it is far worse than the incident so far.

    The points that follow an alarm within the same incident are usually surprising
    too; an alarm for each of them says nothing new. An incident starts with a level
    of at least ``calm`` and lasts until ``span`` levels in a row have stayed below
    it. Within an incident a level is passed on only if it tops every level before it
    in the incident by ``worse`` (1: the point is ten times rarer than anything the
    incident has shown, it has got worse by an order of magnitude), and set to 0
    otherwise. A rise by small steps is the same incident going on, not news: passing
    on every new peak cost a false alarm per step wherever an incident grows slowly.
    No alarm threshold is involved, so the rule is the same whatever threshold a
    reader applies later.

    The points within ``span`` of an incident's peak that do not top it are its
    *aftermath* (:meth:`aftermath`): the detector keeps them out of the history its
    surprises are judged against, so that the trail of one anomaly does not teach it
    that the next one is normal. Beyond ``span`` points from the peak a lasting state
    is learned again.

    Parameters
    ----------
    span
        Points below ``calm`` in a row that end an incident; 0 for no incidents.
    calm
        Level (``-log10`` of a tail probability) below which a point is calm.
    worse
        How much higher than the incident's peak a level must be to be passed on.

    Examples
    --------
    >>> incidents = IncidentFilter(span=2, calm=2.0)
    >>> [incidents.filter(s) for s in [1.0, 5.0, 4.0, 5.5, 7.0, 1.0, 3.0, 1.0, 1.0, 3.0]]
    [1.0, 5.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 3.0]
    """

    #: A class attribute too, so a filter from a checkpoint written before it existed
    #: reads with the default.
    worse: float = 1.0

    def __init__(self, span: int = 36, calm: float = 3.0, worse: float = 1.0) -> None:
        self.span = span
        self.calm = calm
        self.worse = worse
        self._peak = -math.inf
        self._quiet = 0
        self._since_peak = 0

    def peak(self) -> float:
        """Highest level of the current incident (-inf outside incidents)."""
        return self._peak

    def reports(self, level: float) -> bool:
        """Whether ``level`` is passed on: outside an incident, or far worse than its peak."""
        return level > self._peak + self.worse

    def aftermath(self, level: float) -> bool:
        """Whether ``level`` follows the incident's peak closely without topping it."""
        return level <= self._peak and self._since_peak < self.span

    def filter(self, level: float) -> float:
        """The score to report for ``level``; remembers ``level`` itself."""
        kept = level if self.reports(level) else 0.0
        self.add(level)
        return kept

    def add(self, level: float) -> None:
        """Remember ``level`` as the newest point's."""
        if self.span <= 0:
            return  # no incidents: every level is reported
        self._since_peak += 1
        if level >= self.calm:
            self._quiet = 0
            if level > self._peak:
                self._peak, self._since_peak = level, 0
            return
        self._quiet += 1
        if self._quiet >= self.span:
            self._peak = -math.inf


def surprise(p: float) -> float:
    """``-log10 p``, with 0 mapped to 300."""
    return -math.log10(max(p, _TINY))
