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


class RecentDistribution:
    """Empirical distribution of the last ``memory`` values, with exponential tails.

    Within the bulk the tail probability of ``x`` is the share of remembered values at
    least as extreme (plus one, so that nothing seen is impossible). Beyond the
    ``share`` most extreme values (at least ``min_tail`` of them) the tail is
    extrapolated as an exponential fitted to their mean excess, a generalised Pareto
    tail of shape 0 (peaks over a threshold): a value far beyond everything seen is
    graded by how far, instead of scoring like any new record.

    Parameters
    ----------
    memory
        How many of the latest values are remembered.
    share
        Share of the remembered values that make up each tail.
    min_tail
        Fewest values in a tail.

    Examples
    --------
    >>> history = RecentDistribution()
    >>> for i in range(1000):
    ...     history.add(float(i % 100))
    >>> round(history.upper(50.0), 2), round(history.upper(99.0), 3)
    (0.5, 0.011)
    >>> history.upper(150.0) < 1e-20 < history.upper(105.0) < 1e-3
    True
    >>> round(history.two_sided(0.0), 3), round(history.two_sided(50.0), 2)
    (0.021, 1.0)
    """

    def __init__(self, memory: int = 4096, share: float = 0.01, min_tail: int = 5) -> None:
        self.memory = memory
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
        start = values[n - k]
        if x <= start:
            return (n - bisect.bisect_left(values, x) + 1) / (n + 1)
        excess = sum(values[n - k :]) / k - start
        return k / (n + 1) * math.exp(-(x - start) / self._positive(excess))

    def lower(self, x: float) -> float:
        """Probability of a value at most ``x``; 1 while nothing is remembered."""
        values, n = self._sorted, len(self._sorted)
        if not n:
            return 1.0
        k = self._tail_size()
        start = values[k - 1]
        if x >= start:
            return (bisect.bisect_right(values, x) + 1) / (n + 1)
        excess = start - sum(values[:k]) / k
        return k / (n + 1) * math.exp(-(start - x) / self._positive(excess))

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
    """Keeps a score only when it tops every score of the last ``span`` points.

    The points that follow an alarm within the same incident are usually surprising
    too; an alarm for each of them says nothing new. A score is therefore passed on
    only if it is higher than all of the ``span`` scores before it (the incident has
    got worse, or it is a new one), and set to 0 otherwise. No threshold is involved,
    so the rule is the same whatever threshold a reader applies later.

    Examples
    --------
    >>> incidents = IncidentFilter(span=3)
    >>> [incidents.filter(s) for s in [0.1, 0.9, 0.8, 0.95, 0.2, 0.1, 0.1, 0.3]]
    [0.1, 0.9, 0.0, 0.95, 0.0, 0.0, 0.0, 0.3]
    """

    def __init__(self, span: int = 144) -> None:
        self.span = span
        # (position, score) with scores decreasing: the maximum of the span is first.
        self._peaks: deque[tuple[int, float]] = deque()
        self._position = 0

    def peak(self) -> float:
        """Highest score of the last ``span`` points (-inf if none)."""
        while self._peaks and self._peaks[0][0] < self._position - self.span:
            self._peaks.popleft()
        return self._peaks[0][1] if self._peaks else -math.inf

    def filter(self, score: float) -> float:
        """The score to report for ``score``; remembers ``score`` itself."""
        kept = score if score > self.peak() else 0.0
        self.add(score)
        return kept

    def add(self, score: float) -> None:
        """Remember ``score`` as the newest point's."""
        while self._peaks and self._peaks[-1][1] <= score:
            self._peaks.pop()
        self._peaks.append((self._position, score))
        self._position += 1


def surprise(p: float) -> float:
    """``-log10 p``, with 0 mapped to 300."""
    return -math.log10(max(p, _TINY))
