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
from collections.abc import Callable

__all__ = [
    "SURPRISE_CEIL",
    "SURPRISE_FLOOR",
    "cusum_tail",
    "graded_score",
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
_LOG_TINY = math.log(_TINY)
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
    is used. The cost does not grow with the count.

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
    >>> poisson_tail(10**9, 5.0)
    0.0
    >>> round(poisson_tail(1, 30.0), 12)
    6e-12
    """
    if rate > 1000.0:
        return normal_tail((count - rate) / math.sqrt(rate))
    k = math.floor(count) if count > rate else math.ceil(count)
    if rate <= 0.0:
        return 1.0 if k <= 0 else 0.0
    # One tail is summed outward from k, where its terms shrink at least geometrically,
    # so the cost depends on the rate (at most 1,000 here) and never on the count: a
    # counter of bytes (10^8 per point) costs as little as a counter of events.
    log_rate = math.log(rate)
    log_term = k * log_rate - rate - math.lgamma(k + 1.0)
    if k > rate:
        tail = _sum_outward(log_term, lambda i: log_rate - math.log(i + 1.0), k, 1)
    else:
        tail = _sum_outward(log_term, lambda i: math.log(i) - log_rate, k, -1)
    return min(1.0, 2.0 * tail)


def _sum_outward(log_term: float, log_ratio: Callable[[int], float], k: int, way: int) -> float:
    """Sum of Poisson probabilities from ``k`` outward (``way`` = +1 up, -1 down).

    ``log_ratio(i)`` is the log of the ratio of the next term to the term at ``i``.
    The sum stops when a term no longer adds to it in double precision or at 0.
    """
    if log_term < _LOG_TINY:
        return 0.0
    term = math.exp(log_term)
    total = 0.0
    i = k
    while term > total * 1e-17 and i >= 0:
        total += term
        if way < 0 and i == 0:
            break
        term *= math.exp(log_ratio(i))
        i += way
    return total


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


_GRADED_FROM = 0.9
_GRADED_SURPRISE = SURPRISE_FLOOR + _GRADED_FROM * (SURPRISE_CEIL - SURPRISE_FLOOR)
_GRADED_SCALE = (1.0 - _GRADED_FROM) * (SURPRISE_CEIL - SURPRISE_FLOOR)


def graded_score(surprise: float) -> float:
    """Map a surprise ``-log10 p`` to a score in [0, 1) that keeps ranking to the top.

    Up to score 0.9 this is :func:`score_from_tail`'s linear map, so thresholds of
    0.5, 0.7 and 0.9 keep their meaning; beyond it the score approaches 1
    hyperbolically (with the same slope where the two meet), so a surprise of 300 still
    outranks one of 30 at six decimals: no plateau of 1.000s in which every point of
    a series ties.

    Examples
    --------
    >>> graded_score(2.0), graded_score(4.75)
    (0.0, 0.5)
    >>> round(graded_score(6.15), 6), round(graded_score(30.0), 4), round(graded_score(300.0), 5)
    (0.9, 0.9986, 0.99988)
    """
    if surprise <= _GRADED_SURPRISE:
        return max(0.0, (surprise - SURPRISE_FLOOR) / (SURPRISE_CEIL - SURPRISE_FLOOR))
    beyond = (surprise - _GRADED_SURPRISE) / _GRADED_SCALE
    return 1.0 - (1.0 - _GRADED_FROM) / (1.0 + beyond)
