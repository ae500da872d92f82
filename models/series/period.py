"""Sampling step and candidate seasonal periods of a series.

Calendar cycles are the usual source of seasonality in metrics (the day for
traffic and servers, the week for business counts), so they are proposed from the
sampling step alone. Other cycles (a machine's duty cycle, a synthetic benchmark's
period in samples) are found in the data by autocorrelation. Every candidate is
only *proposed* here: the detector keeps one only if it forecasts better.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["DAY", "WEEK", "autocorrelation_period", "calendar_periods", "sampling_step"]

DAY = 86_400.0
WEEK = 7 * DAY


def sampling_step(timestamps: Sequence[float]) -> float:
    """Typical time between consecutive points: the median positive gap, else 1.

    Parameters
    ----------
    timestamps
        Times in seconds, in arrival order.

    Examples
    --------
    >>> sampling_step([0, 300, 600, 1200, 1500])
    300.0
    >>> sampling_step([5, 5])
    1.0
    """
    gaps = [b - a for a, b in zip(timestamps, timestamps[1:], strict=False) if b > a]
    if not gaps:
        return 1.0
    return float(np.median(gaps))


def calendar_periods(step: float, max_phases: int) -> list[float]:
    """The day and the week, when the step resolves them and they fit in ``max_phases``.

    A period needs at least 4 points per cycle to be told apart from noise.

    Parameters
    ----------
    step
        The sampling step, in seconds.
    max_phases
        Largest seasonal profile the detector is willing to keep.

    Examples
    --------
    >>> calendar_periods(3600.0, 10_080)
    [86400.0, 604800.0]
    >>> calendar_periods(86_400.0, 10_080)
    [604800.0]
    >>> calendar_periods(1.0, 10_080)
    []
    """
    return [period for period in (DAY, WEEK) if 4 <= period / step <= max_phases]


def autocorrelation_period(values: Sequence[float], max_lag: int, threshold: float) -> int | None:
    """The lag of the strongest autocorrelation peak, if it is a real cycle.

    The series is detrended by a least-squares line first, so that a trend or a
    random walk (whose autocorrelation decays slowly) does not look periodic. A peak
    counts only after the autocorrelation has dropped below zero, and only if it rises
    ``threshold`` above the lowest value before it.

    Parameters
    ----------
    values
        The series, oldest first.
    max_lag
        Longest period considered, in samples (at most a third of the series).
    threshold
        Minimum peak prominence, in autocorrelation units.

    Examples
    --------
    >>> import math
    >>> wave = [math.sin(2 * math.pi * i / 12) for i in range(240)]
    >>> autocorrelation_period(wave, 60, 0.3)
    12
    >>> autocorrelation_period([float(i) for i in range(240)], 60, 0.3) is None
    True
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    max_lag = min(max_lag, n // 3)
    if max_lag < 4:
        return None
    index = np.arange(n, dtype=float)
    slope, intercept = np.polyfit(index, y, 1)
    y = y - (slope * index + intercept)
    variance = float(np.dot(y, y))
    if variance <= 0.0:
        return None
    size = 1 << int(2 * n - 1).bit_length()
    spectrum = np.fft.rfft(y, size)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), size)[: max_lag + 1] / variance
    below_zero = np.flatnonzero(acf < 0.0)
    if len(below_zero) == 0:
        return None
    start = int(below_zero[0])
    best_lag, best_prominence = None, threshold
    trough = float(acf[start])
    for lag in range(start + 1, max_lag):
        trough = min(trough, float(acf[lag]))
        is_peak = acf[lag] >= acf[lag - 1] and acf[lag] >= acf[lag + 1]
        if is_peak and acf[lag] - trough >= best_prominence:
            best_lag, best_prominence = lag, float(acf[lag] - trough)
    return best_lag
