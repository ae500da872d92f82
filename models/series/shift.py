"""Level shifts: a two-sided CUSUM on standardized innovations."""

from __future__ import annotations

import math

from .calibration import cusum_tail, score_from_tail

__all__ = ["LevelShiftDetector"]


class LevelShiftDetector:
    """Page's CUSUM, in both directions, on standardized innovations.

    A shift of the level too small to make any single point surprising still pushes
    every innovation the same way; the CUSUM adds them up (less ``drift`` per point,
    so that noise drains away) and its value has a known null distribution, which
    :func:`~.calibration.cusum_tail` turns into a tail probability and hence a score
    on the same scale as a single point's. Innovations are capped at ``cap`` so that
    one spike cannot pass for a shift, and divided by sqrt((1 + rho) / (1 - rho)),
    rho being their own lag-one autocorrelation: a forecaster that is slightly off for
    hours (curvature it cannot follow) leaves correlated innovations, whose sums
    wander further than independent ones would. When a side has been accumulating for
    ``min_run`` points and reaches ``threshold`` the shift is confirmed
    (:attr:`drift_detected`): a burst shorter than that is an outlier, not a shift.
    The caller then moves its baseline and calls :meth:`reset`, so a permanent shift
    is flagged at its onset and then forgotten.

    Parameters
    ----------
    drift
        The reference value ``k``: half the smallest shift worth finding, in standard
        deviations.
    threshold
        The decision interval ``h``: the CUSUM value that confirms a shift.
    cap
        Largest innovation, in standard deviations, that the CUSUM takes in.
    min_run
        Fewest points of accumulation before a shift is confirmed.
    rate
        Weight of the newest pair of innovations in their autocorrelation.

    Examples
    --------
    >>> detector = LevelShiftDetector()
    >>> for z in [0.3, -0.5, 0.8, -0.2] * 10:
    ...     detector.learn_one(z)
    >>> detector.score_one(0.5)
    0.0
    >>> for z in [2.0] * 8:
    ...     detector.learn_one(z)
    >>> detector.score_one(2.0) > 0.5, detector.drift_detected
    (True, False)
    >>> detector.learn_one(2.0)
    >>> detector.drift_detected, detector.run_length
    (True, 9)
    """

    def __init__(
        self,
        drift: float = 0.5,
        threshold: float = 12.0,
        cap: float = 5.0,
        min_run: int = 8,
        rate: float = 0.01,
    ) -> None:
        self.drift = drift
        self.threshold = threshold
        self.cap = cap
        self.min_run = min_run
        self.rate = rate
        self._last = 0.0
        self._cross = 0.0
        self._square = 1.0
        self._inflation = 1.0
        self._up = 0.0
        self._down = 0.0
        self._up_run = 0
        self._down_run = 0

    def _next(self, z: float) -> tuple[float, float]:
        z = min(self.cap, max(-self.cap, z)) / self._inflation
        return max(0.0, self._up + z - self.drift), max(0.0, self._down - z - self.drift)

    def score_one(self, z: float) -> float:
        """Score the CUSUM as it would stand after the innovation ``z``."""
        return score_from_tail(self.tail_one(z))

    def tail_one(self, z: float) -> float:
        """Null tail probability of the CUSUM as it would stand after the innovation ``z``."""
        statistic = max(self._next(z))
        if statistic < 2.0:
            return 1.0
        return min(1.0, 2.0 * cusum_tail(statistic, self.drift))

    def learn_one(self, z: float) -> None:
        """Add the innovation ``z``, in standard deviations."""
        self._up, self._down = self._next(z)
        z = min(self.cap, max(-self.cap, z))
        self._cross += self.rate * (z * self._last - self._cross)
        self._square += self.rate * (z * z - self._square)
        self._last = z
        rho = min(0.8, max(0.0, self._cross / self._square))
        self._inflation = math.sqrt((1.0 + rho) / (1.0 - rho))
        self._up_run = self._up_run + 1 if self._up > 0.0 else 0
        self._down_run = self._down_run + 1 if self._down > 0.0 else 0

    @property
    def drift_detected(self) -> bool:
        """Whether a shift has been confirmed since the last :meth:`reset`."""
        return max(self._up, self._down) >= self.threshold and self.run_length >= self.min_run

    @property
    def run_length(self) -> int:
        """How many points the leading side has been accumulating."""
        return self._up_run if self._up >= self._down else self._down_run

    def reset(self) -> None:
        """Start afresh, after the caller has absorbed the shift."""
        self._up = self._down = 0.0
        self._up_run = self._down_run = 0
