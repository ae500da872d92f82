"""The naive baseline the series detector has to beat: a rolling z-score."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable
from typing import Any

from river import base

from .calibration import normal_tail, score_from_tail

__all__ = ["RollingZScore"]


class RollingZScore(base.AnomalyDetector):
    """Distance of a value from the mean of the last ``window`` values, in standard deviations.

    The z-score goes through the same calibration as :class:`~.detector.SeriesDetector`,
    so the two are compared at the same thresholds. It knows nothing of seasons, trends
    or changes, and its window is poisoned by every anomaly it contains.

    Parameters
    ----------
    window
        Number of past values in the mean and standard deviation.

    Examples
    --------
    >>> detector = RollingZScore(window=20)
    >>> for i in range(40):
    ...     detector.learn_one({"timestamp": float(i), "value": float(i % 3)})
    >>> detector.score_one({"timestamp": 40.0, "value": 1.0})
    0.0
    >>> detector.score_one({"timestamp": 40.0, "value": 9.0})
    1.0
    """

    def __init__(self, window: int = 100) -> None:
        self.window = window
        self._values: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sum_squares = 0.0

    @staticmethod
    def _value(x: dict[Hashable, Any]) -> float | None:
        value = x.get("value")
        if value is None or not math.isfinite(float(value)):
            return None
        return float(value)

    def score_one(self, x: dict[Hashable, Any]) -> float:
        """Score ``x`` against the window; 0 until the window is full or for a missing value."""
        y = self._value(x)
        n = len(self._values)
        if y is None or n < self.window:
            return 0.0
        mean = self._sum / n
        variance = max(self._sum_squares / n - mean * mean, 0.0)
        if variance <= 0.0:
            return 0.0 if y == mean else 1.0
        return score_from_tail(normal_tail((y - mean) / math.sqrt(variance)))

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        """Push the value of ``x`` into the window; a missing value is ignored."""
        y = self._value(x)
        if y is None:
            return
        if len(self._values) == self.window:
            oldest = self._values[0]
            self._sum -= oldest
            self._sum_squares -= oldest * oldest
        self._values.append(y)
        self._sum += y
        self._sum_squares += y * y
