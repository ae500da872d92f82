"""Turn a detector's raw anomaly scores into ranks: the share of past scores below.

Half-space trees score a point by the mass of the regions it falls in, normalised
by the largest possible mass; on credit features most transitions sit in a few
dense regions, so raw scores crowd near 0 or near 1 and a threshold on them means
little. Ranked against the scores seen so far, a score of 0.99 means "more unusual
than 99 % of transitions": a threshold then sets a false-alarm budget.
"""

from __future__ import annotations

__all__ = ["ScoreRank"]


class ScoreRank:
    """Running mid-rank of raw scores in [0, 1], over a fixed histogram.

    Parameters
    ----------
    bins
        Histogram bins over [0, 1]; raw scores closer than ``1 / bins`` tie.
    refresh
        The cumulative counts used by :meth:`rank` are rebuilt every ``refresh``
        updates (and on the first ones), so a rank costs one look-up.

    Examples
    --------
    >>> ranks = ScoreRank(bins=10, refresh=1)
    >>> for raw in (0.0, 0.0, 0.0, 0.5, 0.95):
    ...     ranks.update(raw)
    >>> ranks.rank(0.0), ranks.rank(0.95), ranks.n
    (0.3, 0.9, 5)
    """

    def __init__(self, bins: int = 1000, refresh: int = 256) -> None:
        self.bins = bins
        self.refresh = refresh
        self._counts = [0] * bins
        self._below = [0.0] * bins
        self._total = 0
        self.n = 0

    def _bin(self, raw: float) -> int:
        index = int(raw * self.bins)
        return 0 if index < 0 else self.bins - 1 if index >= self.bins else index

    def update(self, raw: float) -> None:
        """Count one raw score."""
        self._counts[self._bin(raw)] += 1
        self.n += 1
        if self.n <= self.refresh or self.n % self.refresh == 0:
            below = 0.0
            cumulative = self._below
            for index, count in enumerate(self._counts):
                # Mid-rank: ties count half, so a lone maximum ranks just below 1.
                cumulative[index] = below + count / 2
                below += count
            self._total = self.n

    def rank(self, raw: float) -> float:
        """Share of the counted scores below ``raw`` (ties half); 0.5 before any."""
        if not self._total:
            return 0.5
        return self._below[self._bin(raw)] / self._total
