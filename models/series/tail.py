"""How heavy the tail of a series' standardized residuals really is."""

from __future__ import annotations

import math

from .calibration import normal_tail

__all__ = ["TailModel"]


class TailModel:
    """Peaks over a threshold: the tail probability of ``|z|`` as the series shows it.

    Real metrics (latencies, request counts, CPU) have heavier tails than the Gaussian
    the residual scale assumes, so a 4.5-sigma residual that would be a one-in-a-million
    event for Gaussian noise may come once a day. The model learns how often ``|z|``
    exceeds ``threshold`` and the mean excess beyond it, and extrapolates with an
    exponential tail (a generalised Pareto tail of shape 0). :meth:`tail` returns the
    larger of that and the Gaussian tail, so heavy tails lower the scores of moderate
    residuals while light tails never raise them. (Far out, an exponential tail is
    heavier than the Gaussian one even when fitted to Gaussian noise: beyond about 4.5
    standard deviations this costs a little sensitivity on truly Gaussian series,
    which real metrics rarely are.) Both statistics start from their
    Gaussian values with the weight of ``prior`` points, and excesses are capped so
    that the anomalies the detector is looking for cannot teach it that they are normal.

    Parameters
    ----------
    threshold
        Where the tail starts, in standard deviations.
    rate
        Weight of the newest point, once the prior has been outweighed.
    prior
        Number of Gaussian points the estimates start from.
    max_excess
        Largest excess over ``threshold`` taken into the mean excess.

    Examples
    --------
    >>> gaussian = TailModel()
    >>> gaussian.tail(2.0) == normal_tail(2.0), f"{gaussian.tail(5.0):.0e}"
    (True, '2e-06')
    >>> heavy = TailModel()
    >>> for i in range(2000):
    ...     heavy.update(4.0 if i % 50 == 0 else 1.0)
    >>> f"{heavy.tail(5.0):.0e}"
    '2e-03'
    """

    def __init__(
        self,
        threshold: float = 3.0,
        rate: float = 0.0005,
        prior: int = 300,
        max_excess: float = 2.0,
    ) -> None:
        self.threshold = threshold
        self.rate = rate
        self.prior = prior
        self.max_excess = max_excess
        self._frequency = normal_tail(threshold)
        density = math.exp(-0.5 * threshold * threshold) / math.sqrt(2.0 * math.pi)
        self._excess = 2.0 * density / self._frequency - threshold
        self._count = 0

    def update(self, z: float) -> None:
        """Learn one standardized residual."""
        self._count += 1
        a = max(self.rate, 1.0 / (self._count + self.prior))
        excess = abs(z) - self.threshold
        if excess > 0.0:
            self._frequency += a * (1.0 - self._frequency)
            # The mean excess is a mean over exceedances only, so it moves once per
            # exceedance, but never as if fewer than 20 had been seen.
            b = min(0.05, a / self._frequency)
            self._excess += b * (min(excess, self.max_excess) - self._excess)
        else:
            self._frequency -= a * self._frequency

    def tail(self, z: float) -> float:
        """Two-sided tail probability of ``|z|``: the heavier of the learned and the Gaussian."""
        gaussian = normal_tail(z)
        excess = abs(z) - self.threshold
        if excess <= 0.0:
            return gaussian
        return max(gaussian, self._frequency * math.exp(-excess / self._excess))
