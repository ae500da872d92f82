"""A robust one-step forecaster: level, damped trend and a seasonal profile kept by clock time."""

from __future__ import annotations

import math
from collections import deque

__all__ = ["SeasonalForecaster"]

_SMOOTHING = 7


class SeasonalForecaster:
    """Holt-Winters-style forecaster whose updates cannot be dragged by outliers.

    The forecast for time ``t`` is ``level + damped trend + profile_1[phase_1(t)] + ...``,
    one profile per seasonal period, as in Taylor's double seasonal Holt-Winters. The
    phases are read from the clock (``t`` modulo the period), not from a sample
    counter, so irregular sampling and gaps keep every point in its right slot. Each
    update uses the residual winsorised to ``bound`` (given by the caller, who knows
    the residual scale), which makes the update a Huber M-estimate: a spike moves the
    level, trend and first profile by at most ``bound`` times their gains.

    The first (shortest) profile is estimated directly during its first cycle (raw
    means per phase, then centred on the level), so a young model is as good as the
    data allow instead of slowly converging from zero; later profiles refine it (the
    week on top of the day) and start from zero, so that the daily and weekly model
    forecasts like the daily one until it has seen its first week. They learn from
    the median residual of the 7 points centred on each phase, unbounded: a weekly
    effect is far larger than the bound, but lasts. Each phase's gain is ``1 /
    visits`` until it reaches ``gamma``, a running mean of the first visits. A phase
    of the first profile missed beyond ``bound`` on the same side at two visits in a
    row is re-baselined by the smaller miss: its offset was wrong (a spike of the first
    cycle learned whole), not the data. With profiles the level moves at most ``1 /
    phases`` (of the longest profile) per point, since a faster level would soak up
    the season itself.

    Parameters
    ----------
    periods
        Seasonal periods in seconds, shortest first; empty for no seasonality.
    step
        Sampling step in seconds; a profile has ``round(period / step)`` phases.
    alpha
        Level gain.
    beta
        Trend gain (per step).
    gamma
        Profile gain, per visit of a phase.
    damping
        Per-step damping of the trend, so that a gap does not extrapolate it forever.

    Examples
    --------
    >>> model = SeasonalForecaster(periods=(4.0,), step=1.0, alpha=0.1, gamma=0.3)
    >>> for t in range(40):
    ...     model.learn_one(float(t), [0.0, 10.0, 0.0, -10.0][t % 4], bound=math.inf)
    >>> round(model.forecast_one(41.0), 1), round(model.forecast_one(43.0), 1)
    (10.0, -10.0)
    """

    #: A class attribute too, so a forecaster from a checkpoint written before it
    #: existed reads (and starts with no misses).
    _missed: list[float] = []

    def __init__(
        self,
        periods: tuple[float, ...] = (),
        step: float = 1.0,
        alpha: float = 0.05,
        beta: float = 0.005,
        gamma: float = 0.2,
        damping: float = 0.98,
    ) -> None:
        self.periods = periods
        self.step = step
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.damping = damping
        self._phases = [max(1, round(period / step)) for period in periods]
        self._profiles = [[0.0] * n for n in self._phases]
        self._visits = [[0] * n for n in self._phases]
        self._missed = [0.0] * self._phases[0] if periods else []
        self._level = 0.0
        self._trend = 0.0
        self._last_t = 0.0
        self._first_t = 0.0
        self._count = 0
        self._seasoned = False
        self._recent: deque[tuple[list[int], float]] = deque(maxlen=_SMOOTHING)
        self._level_gain = min(alpha, 1.0 / self._phases[-1]) if periods else alpha

    @property
    def count(self) -> int:
        """Number of points learned."""
        return self._count

    @property
    def cycles(self) -> float:
        """How many of its longest periods the model has seen (infinite without any)."""
        if not self.periods:
            return math.inf
        return (self._last_t - self._first_t) / self.periods[-1]

    def _phase(self, t: float, k: int) -> int:
        period = self.periods[k]
        n = self._phases[k]
        return int((t % period) / period * n + 0.5) % n

    def _trend_decay(self, t: float) -> float:
        steps = (t - self._last_t) / self.step
        return self.damping**steps if steps > 0.0 else 1.0

    def _trend_gain(self, decay: float) -> float:
        # The sum of damping**i for i = 1..steps: how far the damped trend carries.
        return self.damping * (1.0 - decay) / (1.0 - self.damping)

    def forecast_one(self, t: float) -> float:
        """Forecast the value at time ``t`` (after the last learned point)."""
        forecast = self._level
        if self._trend:
            forecast += self._trend * self._trend_gain(self._trend_decay(t))
        if self._seasoned:
            for k, profile in enumerate(self._profiles):
                forecast += profile[self._phase(t, k)]
        return forecast

    def learn_one(self, t: float, y: float, bound: float) -> None:
        """Learn the value ``y`` at time ``t``, winsorising its residual to ``+-bound``."""
        self._count += 1
        if self._count == 1:
            self._level, self._first_t, self._last_t = y, t, t
        decay = self._trend_decay(t) if self.beta else 1.0
        level = self._level + self._trend * self._trend_gain(decay)
        if not self.periods:
            residual = min(bound, max(-bound, y - level))
            self._level = level + max(self.alpha, 1.0 / self._count) * residual
            self._trend = self._trend * decay + self.beta * residual
        elif self._seasoned:
            self._learn_seasonal(t, y, level, decay, bound)
        else:
            self._learn_first_cycle(t, y)
        self._last_t = max(self._last_t, t)

    def _learn_seasonal(self, t: float, y: float, level: float, decay: float, bound: float) -> None:
        phases = [self._phase(t, k) for k in range(len(self._phases))]
        seasonal = 0.0
        for profile, phase in zip(self._profiles, phases, strict=True):
            seasonal += profile[phase]
        miss = y - level - seasonal
        residual = min(bound, max(-bound, miss))
        a = self._level_gain
        self._level = level + a * residual
        self._trend = self._trend * decay + self.beta * residual
        phase = phases[0]
        visits = self._visits[0][phase] + 1
        self._visits[0][phase] = visits
        self._profiles[0][phase] += (1.0 - a) * max(self.gamma, 1.0 / visits) * residual
        # Two visits in a row beyond the bound on the same side: the phase's offset is
        # what is wrong (a one-off spike learned whole in the first cycle), not the
        # data; it moves by the smaller of the two misses, less what was just learned.
        if not self._missed:  # a forecaster from a checkpoint written before it existed
            self._missed = [0.0] * self._phases[0]
        last = self._missed[phase]
        if abs(miss) > bound:
            if last * miss > 0.0:
                smaller = min(last, miss, key=abs)
                self._profiles[0][phase] += (
                    smaller - (1.0 - a) * max(self.gamma, 1.0 / visits) * residual
                )
                miss = 0.0
            self._missed[phase] = miss
        else:
            self._missed[phase] = 0.0
        if len(phases) > 1:
            self._learn_longer(phases[1:], y - level - seasonal, a)

    def _learn_longer(self, phases: list[int], residual: float, a: float) -> None:
        # A weekly effect (a quiet Sunday afternoon) can be far larger than the bound,
        # so the longer profiles learn, unbounded, from the median of the residuals of
        # the 7 points centred on each phase instead: it follows an effect that lasts
        # and ignores a burst of up to 3 points, which the bound would only limit.
        self._recent.append((phases, residual))
        if len(self._recent) < _SMOOTHING:
            return
        middle, _ = self._recent[len(self._recent) // 2]
        typical = sorted(r for _, r in self._recent)[len(self._recent) // 2]
        for k, phase in enumerate(middle, start=1):
            visits = self._visits[k][phase] + 1
            self._visits[k][phase] = visits
            self._profiles[k][phase] += (1.0 - a) * max(self.gamma, 1.0 / visits) * typical

    def _learn_first_cycle(self, t: float, y: float) -> None:
        # Until a whole cycle has been seen the level is the plain mean and the first
        # profile holds raw per-phase means; at the end of the cycle the level is
        # subtracted. (Offsets against a running mean that is still settling would be
        # biased.)
        self._level += (y - self._level) / self._count
        phase = self._phase(t, 0)
        visits = self._visits[0][phase] + 1
        self._visits[0][phase] = visits
        profile = self._profiles[0]
        profile[phase] += (y - profile[phase]) / visits
        if t - self._first_t >= self.periods[0]:
            self._seasoned = True
            self._fill_profile()

    def _fill_profile(self) -> None:
        """Turn raw means into offsets; give unvisited phases their neighbours' offsets.

        With irregular sampling some phases are missed in the first cycle, and an
        offset of 0 there would make their first visit look like an anomaly.
        """
        profile, n = self._profiles[0], self._phases[0]
        visited = [i for i, count in enumerate(self._visits[0]) if count]
        for i in visited:
            profile[i] -= self._level
        for k, start in enumerate(visited):
            end = visited[(k + 1) % len(visited)]
            gap = (end - start) % n or n
            for j in range(1, gap):
                w = j / gap
                profile[(start + j) % n] = (1 - w) * profile[start] + w * profile[end]

    def shift(self, delta: float) -> None:
        """Move the level by ``delta``: the caller has confirmed a level shift."""
        self._level += delta
