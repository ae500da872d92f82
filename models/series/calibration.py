"""Turn tail probabilities into anomaly scores that mean the same thing on every series.

Every part of the series detector ends in a null tail probability ``p``: how often a
normal point would look at least this unusual. Probabilities are compared on the
*surprise* scale, ``-log10(p)``, which is mapped linearly from
:data:`SURPRISE_FLOOR` (score 0) to :data:`SURPRISE_CEIL` (score 1). With Gaussian
residuals this puts score 0.5 at about 4.3 robust standard deviations, 0.7 at 4.6 and
0.9 at 5, so a threshold of 0.5 fires about twice in 100,000 clean points whatever
the series' units, level or noise. The floor and ceiling were chosen on the tuning
seeds of :mod:`.evaluate` for the best balance of precision and recall across the
three thresholds.
"""

from __future__ import annotations

import math

__all__ = [
    "SURPRISE_CEIL",
    "SURPRISE_FLOOR",
    "cusum_tail",
    "normal_tail",
    "poisson_tail",
    "score_from_tail",
]

SURPRISE_FLOOR = 3.0
"""Surprise (``-log10 p``) at and below which the score is 0: a 1-in-1000 event is normal."""

SURPRISE_CEIL = 6.5
"""Surprise at and above which the score is 1."""

_SQRT2 = math.sqrt(2.0)
_TINY = 1e-300
_SIEGMUND_OFFSET = 1.166


def normal_tail(z: float) -> float:
    """Two-sided tail probability ``P(|Z| >= |z|)`` of a standard normal variable.

    Parameters
    ----------
    z
        A standardized residual.

    Examples
    --------
    >>> round(normal_tail(1.96), 4)
    0.05
    >>> normal_tail(0.0)
    1.0
    """
    return math.erfc(abs(z) / _SQRT2)


def poisson_tail(count: float, rate: float) -> float:
    """Two-sided tail probability of ``count`` events where ``rate`` are expected.

    Twice the smaller of ``P(X <= count)`` and ``P(X >= count)`` for a Poisson
    variable, capped at 1. A non-integer count is rounded towards the expected rate,
    the generous direction. Beyond 1,000 expected events the Gaussian approximation
    is used.

    Parameters
    ----------
    count
        Observed number of events.
    rate
        Expected number of events.

    Examples
    --------
    >>> round(poisson_tail(3, 0.3), 4)
    0.0072
    >>> poisson_tail(1, 0.0)
    0.0
    >>> poisson_tail(0, 0.3)
    1.0
    """
    if rate > 1000.0:
        return normal_tail((count - rate) / math.sqrt(rate))
    k = math.floor(count) if count > rate else math.ceil(count)
    if rate <= 0.0:
        return 1.0 if k <= 0 else 0.0
    term = math.exp(-rate)
    below = 0.0  # P(X < k)
    for i in range(k):
        below += term
        term *= rate / (i + 1)
    at_most = below + term  # P(X <= k)
    return min(1.0, 2.0 * min(at_most, 1.0 - below))


def cusum_tail(statistic: float, drift: float) -> float:
    """Per-point false-alarm probability of a one-sided CUSUM sitting at ``statistic``.

    Siegmund's approximation of the in-control average run length of a CUSUM on
    N(0, 1) increments with reference value ``drift`` gives how rarely a clean series
    reaches ``statistic``; its inverse is the tail probability.

    Parameters
    ----------
    statistic
        The CUSUM value, in standard deviations.
    drift
        The reference value ``k`` subtracted at every step.

    Examples
    --------
    >>> cusum_tail(0.0, 0.5) > 0.4
    True
    >>> f"{cusum_tail(10.0, 0.5):.1e}"
    '7.1e-06'
    """
    b = 2.0 * drift * (statistic + _SIEGMUND_OFFSET)
    run_length = (math.exp(min(b, 700.0)) - b - 1.0) / (2.0 * drift * drift)
    return min(1.0, 1.0 / max(run_length, 1.0))


def score_from_tail(p: float) -> float:
    """Map a null tail probability to an anomaly score in [0, 1].

    Parameters
    ----------
    p
        How often a normal point would look at least this unusual.

    Examples
    --------
    >>> score_from_tail(0.5)
    0.0
    >>> score_from_tail(10**-4.75)
    0.5
    >>> score_from_tail(0.0)
    1.0
    """
    surprise = -math.log10(max(p, _TINY))
    score = (surprise - SURPRISE_FLOOR) / (SURPRISE_CEIL - SURPRISE_FLOOR)
    return min(1.0, max(0.0, score))
