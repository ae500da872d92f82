"""Variance changes: the recent mean square of standardized innovations."""

from __future__ import annotations

import math
from statistics import NormalDist

from .calibration import normal_tail, score_from_tail

__all__ = ["VarianceShiftDetector"]


class VarianceShiftDetector:
    """Flags a burst of noise; notices a calm spell, and says how far to rescale.

    Compares a short exponentially weighted mean of squared standardized innovations
    with a long one. For Gaussian innovations the long mean is 1 and the short one is
    close to a chi-square with ``(2 - rate) / rate`` degrees of freedom; heavier tails
    raise both the long mean and the spread of the squares, and the degrees of freedom
    are matched to the spread actually seen, so that heavy-tailed noise does not pass
    for a change of variance. The Wilson-Hilferty approximation of the chi-square gives
    the tail probability, hence the score. Only an *increase* scores: a drop of
    variance is an everyday event in real metrics (a quiet night, a flat stretch of a
    quantised gauge) and would raise false alarms, but it is still confirmed, so that
    the caller can shrink its scale back after a burst. Squares are capped at ``cap``
    so that a lone spike does not pass for a noise burst, and a change is confirmed
    only once the ratio has been beyond ``confidence`` for ``min_run`` points in a
    row, so that a short burst is scored but not learned.

    Parameters
    ----------
    rate
        Weight of the newest innovation in the short mean.
    long_rate
        Weight of the newest innovation in the long mean and spread.
    cap
        Largest squared innovation taken in.
    confidence
        Tail probability beyond which the variance has changed.
    min_run
        Points in a row beyond ``confidence`` that confirm a change (:attr:`drift_detected`).

    Examples
    --------
    >>> detector = VarianceShiftDetector()
    >>> for z in [1.0, -1.0] * 20:
    ...     detector.learn_one(z)
    >>> detector.score_one(1.0)
    0.0
    >>> for z in [3.0, -3.0] * 10:
    ...     detector.learn_one(z)
    >>> detector.score_one(3.0) > 0.9, detector.drift_detected
    (True, True)
    >>> round(detector.ratio, 1)
    6.1
    """

    def __init__(
        self,
        rate: float = 0.1,
        long_rate: float = 0.002,
        cap: float = 16.0,
        confidence: float = 1e-5,
        min_run: int = 10,
    ) -> None:
        self.rate = rate
        self.long_rate = long_rate
        self.cap = cap
        self.confidence = confidence
        self.min_run = min_run
        self._samples = (2.0 - rate) / rate
        self._critical = NormalDist().inv_cdf(1.0 - confidence / 2.0)
        self._short = 1.0
        self._long = 1.0
        self._spread = 2.0  # The variance of a squared standard normal.
        self._beyond = 0

    def _next(self, z: float) -> float:
        return self._short + self.rate * (min(z * z, self.cap) - self._short)

    def _standardize(self, short: float) -> float:
        """Wilson-Hilferty z-statistic of the short mean against the long one."""
        dof = 2.0 * self._long * self._long * self._samples / self._spread
        spread = 2.0 / (9.0 * dof)
        return (math.pow(short / self._long, 1.0 / 3.0) - 1.0 + spread) / math.sqrt(spread)

    def score_one(self, z: float) -> float:
        """Score the increase of variance as it would stand after the innovation ``z``."""
        return score_from_tail(self.tail_one(z))

    def tail_one(self, z: float) -> float:
        """Null tail probability of the increase of variance after the innovation ``z``."""
        short = self._next(z)
        if short < 1.5 * self._long:
            return 1.0
        return normal_tail(self._standardize(short))

    def learn_one(self, z: float) -> None:
        """Add the innovation ``z``, in standard deviations."""
        self._short = self._next(z)
        square = min(z * z, self.cap)
        deviation = square - self._long
        self._long += self.long_rate * deviation
        self._spread += self.long_rate * (deviation * deviation - self._spread)
        # Only a mean square far from the usual one can be beyond doubt.
        ratio = self._short / self._long
        outside = not 0.5 < ratio < 1.5 and abs(self._standardize(self._short)) > self._critical
        self._beyond = self._beyond + 1 if outside else 0

    @property
    def ratio(self) -> float:
        """Recent variance over the usual variance."""
        return self._short / self._long

    @property
    def drift_detected(self) -> bool:
        """Whether the variance has changed, up or down, beyond doubt."""
        return self._beyond >= self.min_run

    def reset(self) -> None:
        """Start afresh, after the caller has rescaled."""
        self._short = self._long
        self._beyond = 0
