"""Labelled synthetic series of the shapes the series detector meets in the field.

Each generator draws its shape parameters from a seeded generator, so a seed
names a fixed benchmark: seeds 0-4 are for tuning, seed 42 for reporting. The
labels are windows ``(first, last)`` of row indices (inclusive) in which an
alarm counts as a detection: the anomalous points themselves, plus a short stretch
after a change (level, slope or variance) during which any detector needs to see a
few points before it can tell the change from noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "LabelledSeries", "generate", "suite"]

_EPOCH = 1_704_067_200.0  # 2024-01-01T00:00:00Z, a Monday
_HOUR = 3600.0
_DAY = 86_400.0

Rng = np.random.Generator


@dataclass(frozen=True)
class LabelledSeries:
    """A series with its anomaly windows."""

    kind: str
    timestamps: list[float]
    values: list[float | None]
    windows: list[tuple[int, int]]


def _grid(n: int, step: float) -> np.ndarray:
    return _EPOCH + step * np.arange(n)


def _daily(t: np.ndarray, peak_hour: float = 14.0) -> np.ndarray:
    """A day's shape in [0, 1]: low at night, high in the afternoon."""
    hours = (t % _DAY) / _HOUR
    return 0.5 + 0.5 * np.cos(2 * math.pi * (hours - peak_hour) / 24.0)


def _weekend(t: np.ndarray) -> np.ndarray:
    """1 on Saturdays and Sundays: multiplies the daytime part of a cycle, as in real traffic."""
    return ((t - _EPOCH) // _DAY % 7 >= 5).astype(float)


def _positions(rng: Rng, n: int, count: int, start: int, gap: int) -> list[int]:
    """``count`` sorted positions in [start, n - gap), at least ``gap`` apart."""
    chosen: list[int] = []
    while len(chosen) < count:
        p = int(rng.integers(start, n - gap))
        if all(abs(p - q) >= gap for q in chosen):
            chosen.append(p)
    return sorted(chosen)


def _ar_noise(rng: Rng, n: int, phi: float) -> np.ndarray:
    shocks = rng.standard_normal(n) * math.sqrt(1.0 - phi * phi)
    noise = np.empty(n)
    noise[0] = rng.standard_normal()
    for i in range(1, n):
        noise[i] = phi * noise[i - 1] + shocks[i]
    return noise


def _series(
    kind: str, t: np.ndarray, y: np.ndarray, windows: list[tuple[int, int]]
) -> LabelledSeries:
    values: list[float | None] = [None if math.isnan(v) else float(v) for v in y]
    return LabelledSeries(kind, [float(s) for s in t], values, windows)


def random_walk_spikes(rng: Rng) -> LabelledSeries:
    """A wandering gauge (a temperature, a queue length) with isolated spikes and dips."""
    n = 3000
    sigma = rng.uniform(0.2, 2.0)
    y = 50.0 + np.cumsum(rng.standard_normal(n) * sigma) + rng.standard_normal(n) * sigma * 0.3
    spots = _positions(rng, n, 4, 300, 100)
    for p in spots:
        y[p] += rng.choice([-1.0, 1.0]) * rng.uniform(8.0, 14.0) * sigma
    return _series("random_walk_spikes", _grid(n, 300.0), y, [(p, p) for p in spots])


def seasonal_counts_shift(rng: Rng) -> LabelledSeries:
    """Hourly event counts with daily and weekly cycles, a spike and a lasting level shift."""
    n = 24 * 7 * 9
    t = _grid(n, _HOUR)
    rate = rng.uniform(10.0, 200.0) * (0.2 + _daily(t) * (1.0 - 0.5 * _weekend(t)))
    spike, shift = _positions(rng, n, 2, 24 * 7 * 4, 200)
    factor = rng.choice([rng.uniform(1.5, 2.0), rng.uniform(0.4, 0.6)])
    rate[shift:] *= factor
    rate[spike] *= rng.uniform(3.0, 4.0)
    y = rng.poisson(rate).astype(float)
    return _series("seasonal_counts_shift", t, y, [(spike, spike), (shift, shift + 12)])


def sensor_variance(rng: Rng) -> LabelledSeries:
    """A sensor with correlated noise, a noise burst and a lasting rise in noise."""
    n = 4000
    sigma = rng.uniform(0.05, 1.0)
    noise = _ar_noise(rng, n, rng.uniform(0.3, 0.8)) * sigma
    burst, change = _positions(rng, n, 2, 500, 600)
    width = int(rng.integers(30, 100))
    noise[burst : burst + width] *= rng.uniform(3.0, 5.0)
    noise[change:] *= rng.uniform(2.5, 4.0)
    level = 20.0 + np.cumsum(rng.standard_normal(n)) * sigma * 0.02
    windows = [(burst, burst + width - 1), (change, change + 40)]
    return _series("sensor_variance", _grid(n, 60.0), level + noise, windows)


def trend_break(rng: Rng) -> LabelledSeries:
    """A growing metric whose slope changes."""
    n = 2000
    sigma = rng.uniform(0.5, 3.0)
    slope = rng.uniform(-0.02, 0.05) * sigma
    (cut,) = _positions(rng, n, 1, 600, 400)
    change = rng.choice([-1.0, 1.0]) * rng.uniform(0.08, 0.2) * sigma
    steps = np.arange(n, dtype=float)
    y = 100.0 + slope * steps + change * np.maximum(0.0, steps - cut)
    y += _ar_noise(rng, n, 0.3) * sigma
    return _series("trend_break", _grid(n, _HOUR), y, [(cut, cut + 60)])


def seasonal_anomaly(rng: Rng) -> LabelledSeries:
    """A server metric with a daily cycle and a spell of values that belong to another time."""
    n = 288 * 21
    t = _grid(n, 300.0)
    amplitude = rng.uniform(20.0, 60.0)
    noise = rng.uniform(0.04, 0.1) * amplitude
    y = 30.0 + amplitude * _daily(t) + _ar_noise(rng, n, 0.5) * noise
    (start,) = _positions(rng, n, 1, 288 * 10, 400)
    hour = ((t[start] % _DAY) / _HOUR + 24.0) % 24.0
    # Move the spell to the opposite half of the day, so it is wrong only for its time.
    start += int(((14.0 if hour < 2.0 or hour > 20.0 else 2.0) - hour) % 24.0 * 12)
    width = int(rng.integers(12, 36))
    shifted = t[start : start + width] + 12 * _HOUR
    y[start : start + width] = (
        30.0 + amplitude * _daily(shifted) + rng.standard_normal(width) * noise
    )
    return _series("seasonal_anomaly", t, y, [(start, start + width - 1)])


def irregular_gaps(rng: Rng) -> LabelledSeries:
    """Jittered sampling with outages and missing values, a daily cycle and spikes."""
    n = 3000
    steps = rng.exponential(600.0, n)
    for outage in _positions(rng, n, 3, 100, 400):
        steps[outage] += rng.uniform(2.0, 12.0) * _HOUR
    t = _EPOCH + np.cumsum(steps)
    sigma = rng.uniform(1.0, 4.0)
    y = 50.0 + 25.0 * _daily(t, rng.uniform(10.0, 18.0)) + rng.standard_normal(n) * sigma
    y[rng.random(n) < 0.08] = np.nan
    spots = _positions(rng, n, 4, 400, 150)
    for p in spots:
        y[p] = (
            50.0
            + 25.0 * _daily(t[p : p + 1])[0]
            + rng.choice([-1.0, 1.0]) * rng.uniform(8, 12) * sigma
        )
    return _series("irregular_gaps", t, y, [(p, p) for p in spots])


def flat_then_spike(rng: Rng) -> LabelledSeries:
    """A gauge that sits still, spikes once, and later settles at a new value."""
    n = 1500
    base = float(rng.choice([0.0, 1.0, 42.0, 1000.0]))
    y = np.full(n, base)
    spike, shift = _positions(rng, n, 2, 200, 300)
    y[spike] = base + rng.uniform(1.0, 10.0) * max(1.0, abs(base) * 0.1)
    y[shift:] = base + rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 3.0) * max(1.0, abs(base) * 0.05)
    return _series("flat_then_spike", _grid(n, 60.0), y, [(spike, spike), (shift, shift + 3)])


def sparse_counts(rng: Rng) -> LabelledSeries:
    """Rare daily events (one sector, district and kind of the city), with bursts."""
    n = 730
    t = _grid(n, _DAY)
    rate = rng.uniform(0.1, 0.6) * (1.0 - 0.7 * _weekend(t))
    y = rng.poisson(rate).astype(float)
    spots = _positions(rng, n, 3, 100, 60)
    for p in spots:
        y[p] += rng.integers(6, 12)
    return _series("sparse_counts", t, y, [(p, p) for p in spots])


def city_daily_counts(rng: Rng) -> LabelledSeries:
    """Daily event counts with a weekly cycle, a one-day surge and a lasting change."""
    n = 730
    t = _grid(n, _DAY)
    rate = rng.uniform(10.0, 60.0) * (1.0 - 0.6 * _weekend(t))
    spike, shift = _positions(rng, n, 2, 120, 100)
    rate[shift:] *= rng.choice([rng.uniform(1.6, 2.2), rng.uniform(0.4, 0.6)])
    rate[spike] *= rng.uniform(2.5, 4.0)
    y = rng.poisson(rate).astype(float)
    return _series("city_daily_counts", t, y, [(spike, spike), (shift, shift + 7)])


def server_latency(rng: Rng) -> LabelledSeries:
    """Request latency: heavy-tailed noise around a daily cycle, with slowdowns."""
    n = 288 * 14
    t = _grid(n, 300.0)
    typical = 100.0 * (1.0 + 0.5 * _daily(t))
    y = typical * rng.lognormal(0.0, rng.uniform(0.1, 0.25), n)
    spots = _positions(rng, n, 4, 600, 200)
    for p in spots:
        y[p : p + 3] = typical[p : p + 3] * rng.uniform(3.0, 5.0)
    return _series("server_latency", t, y, [(p, p + 2) for p in spots])


def clean_seasonal(rng: Rng) -> LabelledSeries:
    """Request rate with daily and weekly cycles and nothing wrong: every alarm is false."""
    n = 288 * 28
    t = _grid(n, 300.0)
    y = 500.0 * (0.3 + _daily(t) * (1.0 - 0.4 * _weekend(t)))
    y = y + _ar_noise(rng, n, 0.6) * rng.uniform(5.0, 25.0)
    return _series("clean_seasonal", t, y, [])


KINDS: dict[str, Callable[[Rng], LabelledSeries]] = {
    f.__name__: f
    for f in (
        random_walk_spikes,
        seasonal_counts_shift,
        sensor_variance,
        trend_break,
        seasonal_anomaly,
        irregular_gaps,
        flat_then_spike,
        sparse_counts,
        city_daily_counts,
        server_latency,
        clean_seasonal,
    )
}


def generate(kind: str, seed: int, index: int = 0) -> LabelledSeries:
    """One series of ``kind``, fixed by ``seed`` and ``index``.

    Examples
    --------
    >>> series = generate("flat_then_spike", seed=0)
    >>> len(series.values), series.windows == generate("flat_then_spike", seed=0).windows
    (1500, True)
    """
    salt = list(KINDS).index(kind)
    return KINDS[kind](np.random.default_rng([seed, salt, index]))


def suite(seed: int, per_kind: int = 3) -> list[LabelledSeries]:
    """``per_kind`` series of every kind.

    Examples
    --------
    >>> len(suite(0, per_kind=1)) == len(KINDS)
    True
    """
    return [generate(kind, seed, i) for kind in KINDS for i in range(per_kind)]
