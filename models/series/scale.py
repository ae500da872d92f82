"""A residual scale that outliers cannot inflate."""

from __future__ import annotations

import math

__all__ = ["RobustScale"]

_MEAN_ABS_TO_STD = math.sqrt(math.pi / 2.0)


class RobustScale:
    """Exponentially weighted mean absolute residual, winsorised, read as a standard deviation.

    Each absolute residual is capped at ``cap`` current scales before it is averaged,
    so a spike raises the scale by at most ``rate x cap`` of itself and cannot hide the
    next spike. A genuine, lasting change of variance is left to the variance detector,
    which rescales this estimate when it confirms one. The mean absolute deviation is
    multiplied by sqrt(pi / 2) so that it estimates the standard deviation of Gaussian
    noise. Until ``rate`` is reached the average is a plain running mean.

    Parameters
    ----------
    rate
        Weight of the newest residual.
    cap
        Winsorisation bound, in current scales.
    floor
        Smallest scale ever returned: the data's resolution, below which a residual
        is not evidence of anything.

    Examples
    --------
    >>> scale = RobustScale(rate=0.05, floor=0.1)
    >>> for e in [1.0, -1.0] * 50:
    ...     scale.update(e)
    >>> round(scale.get(), 3)
    1.253
    >>> scale.update(1000.0)
    >>> round(scale.get(), 3)
    1.441
    """

    def __init__(self, rate: float = 0.01, cap: float = 4.0, floor: float = 0.0) -> None:
        self.rate = rate
        self.cap = cap
        self.floor = floor
        self._scale = 0.0
        self._count = 0

    def update(self, residual: float) -> None:
        """Fold one residual into the scale."""
        self._count += 1
        x = abs(residual) * _MEAN_ABS_TO_STD
        if self._count > 1:
            x = min(x, self.cap * max(self._scale, self.floor))
        self._scale += max(self.rate, 1.0 / self._count) * (x - self._scale)

    def get(self) -> float:
        """The current scale, never below ``floor``."""
        return max(self._scale, self.floor)

    def rescale(self, factor: float) -> None:
        """Multiply the scale by ``factor``: the caller has confirmed a variance change."""
        self._scale = max(self._scale, self.floor) * factor
