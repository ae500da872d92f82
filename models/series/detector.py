"""The univariate series detector behind ``creditbrain models detect-series``."""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Hashable
from typing import Any

from river import base

from .calibration import SURPRISE_FLOOR, graded_score, poisson_tail
from .forecaster import SeasonalForecaster
from .likelihood import IncidentFilter, RecentDistribution, surprise
from .model import SeriesModel
from .period import autocorrelation_period, calendar_periods, sampling_step
from .recurrence import DAY, DailyRecurrence

__all__ = ["SeriesDetector"]

_ANSCOMBE = math.sqrt(3.0 / 8.0)
# The smallest residual scale, as a share of the data's resolution: one step of
# resolution (one event, one tick of a gauge) is then 4 scales, notable but not
# alarming, and anything larger after a perfectly flat stretch is an alarm.
_RESOLUTION_SHARE = 0.25
# Weeks of evidence before the day and the day-and-week models are settled.
_NESTED_CYCLES = 2.0


def _stabilise_count(y: float) -> float:
    # Anscombe's transform: Poisson noise gets unit variance whatever the rate, so a
    # quiet night and a busy afternoon share one residual scale.
    return math.copysign(2.0 * (math.sqrt(abs(y) + 0.375) - _ANSCOMBE), y)


def _unstabilise_count(z: float) -> float:
    return max(0.0, (z / 2.0 + _ANSCOMBE) ** 2 - 0.375)


class SeriesDetector(base.AnomalyDetector):
    """Online anomaly detector for one univariate, possibly seasonal, time series.

    Each point ``x = {"timestamp": seconds, "value": float}`` is compared with a
    robust forecast (level, damped trend and, if it pays, a seasonal profile by time of
    day or week), and the surprise of several views of the residual is turned into a
    calibrated score; see the package docstring for the reasoning.

    Parameters
    ----------
    warmup
        Points buffered (scored 0) before the sampling step, count-ness and data
        resolution are read from them and the models start.
    alpha
        Level gain of the forecasters.
    beta
        Trend gain of the forecaster without seasons.
    gamma
        Seasonal profile gain, per visit of a phase.
    scale_rate
        Weight of the newest residual in the residual scales.
    clip
        Winsorisation bound of the forecasters' updates, in residual scales.
    seasonal_gain
        A seasonal model replaces the current one only if its error is at most this
        fraction of the current model's.
    max_phases
        Largest seasonal profile considered (10,080 is a week by the minute).
    history
        Points kept to find data-driven periods and to train a new candidate on.
    memory
        Points of the series' own history that its surprises and values are judged
        against (the likelihood layer).
    min_history
        Points learned after warm-up before the likelihood layer takes over from the
        raw surprise.
    incident
        Calm points in a row (level below ``calm``) that end an incident; within an
        incident only a level ``worse`` above its peak is reported (one alarm per
        incident unless it gets far worse). 0 reports every score.
    calm
        Level (``-log10`` of a tail probability) below which a point is calm.
    worse
        How much higher than an incident's peak (in ``-log10`` units: 1 is ten times
        rarer) a later point of the incident must be to be reported.
    stretch
        Slope of the score against a level judged by the likelihood layer, relative
        to its slope against a raw surprise (1.5: score 0.9 at a judged level of 5.1
        rather than 6.15). A judged level is a tail probability against at most
        ``memory`` points of the series' own past and does not reach as deep as the
        null's; chosen on the tuning seeds of the synthetic suite.
    likelihood
        Judge the surprise against the series' own recent surprises, and (for data
        sampled within the day) against the surprises seen at the same clock time
        on earlier days (:mod:`.recurrence`).
    novelty
        Also judge the value against the series' own recent values.

    Examples
    --------
    >>> import math
    >>> detector = SeriesDetector()
    >>> scores = []
    >>> for i in range(24 * 28):
    ...     value = 100 + 30 * math.sin(2 * math.pi * i / 24) + (i * 7919 % 13 - 6)
    ...     if i == 24 * 21 + 3:
    ...         value += 60
    ...     x = {"timestamp": 3600.0 * i, "value": value}
    ...     scores.append(detector.score_one(x))
    ...     detector.learn_one(x)
    >>> max(scores[:24 * 21 + 3]) < 0.5, scores[24 * 21 + 3] > 0.9
    (True, True)
    """

    #: Class attributes too, so a detector from a checkpoint written before they
    #: existed reads with its scores as they were.
    stretch: float = 1.0
    _cached_judged: bool = False
    _nested: bool = False
    _routine: DailyRecurrence | None = None

    def __init__(
        self,
        warmup: int = 32,
        alpha: float = 0.05,
        beta: float = 0.005,
        gamma: float = 0.1,
        scale_rate: float = 0.02,
        clip: float = 3.0,
        seasonal_gain: float = 0.85,
        max_phases: int = 10_080,
        history: int = 4096,
        memory: int = 4096,
        min_history: int = 150,
        incident: int = 36,
        likelihood: bool = True,
        novelty: bool = True,
        calm: float = 3.0,
        worse: float = 1.0,
        stretch: float = 1.5,
    ) -> None:
        self.likelihood = likelihood
        self.novelty = novelty
        self.warmup = warmup
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.scale_rate = scale_rate
        self.clip = clip
        self.seasonal_gain = seasonal_gain
        self.max_phases = max_phases
        self.history = history
        self.memory = memory
        self.min_history = min_history
        self.incident = incident
        self.calm = calm
        self._surprises = RecentDistribution(memory)
        self._values = RecentDistribution(memory, seen_exact=True)
        self.worse = worse
        self._incidents = IncidentFilter(incident, calm, worse)
        self.stretch = stretch
        self._cached_judged = False
        self._cached: tuple[tuple[tuple[float, float], int], float] | None = None
        self._cached_raw = 0.0
        self._routine = None
        self._buffer: deque[tuple[float, float]] = deque(maxlen=max(history, warmup))
        self._started = False
        self._counts = False
        self._poisson = False
        self._step = 1.0
        self._floor = 0.0
        self._candidates: list[SeriesModel] = []
        self._selected = 0
        self._found: int | None = None
        self._nested = False
        self._learned = 0
        self._next_check = 4 * warmup

    @staticmethod
    def _read(x: dict[Hashable, Any]) -> tuple[float, float] | None:
        value = x.get("value")
        if value is None:
            return None
        y = float(value)
        if not math.isfinite(y):
            return None
        return float(x["timestamp"]), y

    def score_one(self, x: dict[Hashable, Any]) -> float:
        """Anomaly score in [0, 1] of the point ``x``; 0 during warm-up or for a missing value.

        The score of the point's surprise against the series' own history, kept only
        if it is far worse than the incident so far (see :mod:`.likelihood`).
        """
        level = self._level(x)
        if level is None or not self._incidents.reports(level):
            return 0.0
        if self._cached_judged and level > SURPRISE_FLOOR:
            # A judged level is a tail probability against at most ``memory`` points of
            # the series' own past, and cannot reach as deep as the null's: its score
            # rises ``stretch`` times as fast from the floor.
            level = SURPRISE_FLOOR + self.stretch * (level - SURPRISE_FLOOR)
        return graded_score(level)

    def _level(self, x: dict[Hashable, Any]) -> float | None:
        """How unusual ``x`` is for this series, as ``-log10`` of a tail probability."""
        point = self._read(x)
        if point is None or not self._started:
            return None
        key = (point, self._learned)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1]
        raw = surprise(self.tail_one(x))
        level = raw
        self._cached_judged = len(self._surprises) >= self.min_history and (
            self.likelihood or self.novelty
        )
        if len(self._surprises) >= self.min_history:
            judged = surprise(self._surprises.upper(raw)) if self.likelihood else raw
            if self.novelty:
                judged = max(judged, surprise(self._values.two_sided(point[1])))
            # The series' history can only make a surprise less surprising: a series
            # that is calm by the null keeps the null's verdict, and a new value that
            # the forecast expected (a random walk reaching a new high) is no alarm.
            level = min(raw, judged)
        if self._routine is not None:
            level = min(level, self._routine.level(point[0], raw))
        self._cached = (key, level)
        self._cached_raw = raw
        return level

    def tail_one(self, x: dict[Hashable, Any]) -> float:
        """Null tail probability of the point ``x``: how often a normal point looks as odd.

        1 during warm-up or for a missing value.
        """
        point = self._read(x)
        if point is None or not self._started:
            return 1.0
        t, y = point
        model = self._candidates[self._selected]
        if not self._counts:
            return model.tail_one(t, y)
        # Counts are judged on the transformed scale, but never as rarer than a Poisson
        # variable at the forecast rate would make them (two events on a day that
        # usually has none are not an alarm), unless the counter did not move at all
        # during the warm-up: then Poisson noise is not what it has.
        least = 0.0
        if self._poisson:
            least = poisson_tail(y, _unstabilise_count(model.forecaster.forecast_one(t)))
        return model.tail_one(t, _stabilise_count(y), least)

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        """Learn the point ``x``; a missing or non-finite value is ignored."""
        point = self._read(x)
        if point is None:
            return
        t, y = point
        if not self._started:
            self._buffer.append((t, y))
            self._values.add(y)
            if len(self._buffer) >= self.warmup:
                self._start()
            return
        level = self._level(x)
        level = 0.0 if level is None else level
        if not self._incidents.aftermath(level):
            self._surprises.add(self._cached_raw)
            if self._routine is not None:
                self._routine.add(t, self._cached_raw)
        self._values.add(y)
        self._incidents.add(level)
        if self._counts:
            y = _stabilise_count(y)
        self._learn(t, y)

    def _start(self) -> None:
        times = [t for t, _ in self._buffer]
        values = [y for _, y in self._buffer]
        self._counts = all(y >= 0.0 and y == int(y) for y in values)
        self._poisson = self._counts and len(set(values)) > 1
        if self._counts:
            # The resolution of counts is one event, which after the transform is
            # worth less at a high level than at a low one.
            typical = statistics.median(values)
            self._floor = _RESOLUTION_SHARE * (
                _stabilise_count(typical + 1.0) - _stabilise_count(typical)
            )
            values = [_stabilise_count(y) for y in values]
        else:
            steps = [abs(b - a) for a, b in zip(values, values[1:], strict=False) if b != a]
            resolution = min(steps) if steps else 0.0
            magnitude = max(1.0, statistics.median(abs(y) for y in values))
            self._floor = max(_RESOLUTION_SHARE * resolution, 1e-9 * magnitude)
        self._buffer = deque(zip(times, values, strict=True), maxlen=self._buffer.maxlen)
        self._step = sampling_step(times)
        self._started = True
        if self.likelihood and self._step <= DAY / 24.0:
            # Only data sampled at least hourly has a time of day to recur at.
            self._routine = DailyRecurrence(floor=self.calm, worse=self.worse)
        self._candidates = [self._train(())]
        calendar = calendar_periods(self._step, self.max_phases)
        for k in range(len(calendar)):
            # The day, then the week on top of the day.
            self._candidates.append(self._train(tuple(calendar[: k + 1])))
        self._nested = len(calendar) == 2
        self._learned = len(self._buffer)

    def _train(self, periods: tuple[float, ...]) -> SeriesModel:
        # Seasonal models carry no trend: within a cycle it would chase the season,
        # and the residual memory soaks up the slow bias a trend leaves.
        forecaster = SeasonalForecaster(
            periods=periods,
            step=self._step,
            alpha=self.alpha,
            beta=0.0 if periods else self.beta,
            gamma=self.gamma,
        )
        model = SeriesModel(forecaster, self.scale_rate, self._floor, self.clip, self.warmup)
        for t, y in self._buffer:
            model.learn_one(t, y)
        return model

    def _learn(self, t: float, y: float) -> None:
        for candidate in self._candidates:
            candidate.learn_one(t, y)
        self._buffer.append((t, y))
        self._learned += 1
        if self._nested:
            self._settle_nested()
        self._select()
        if self._learned >= self._next_check:
            self._next_check *= 2
            self._look_for_cycle()

    def _settle_nested(self) -> None:
        """Keep only the better of the day and the day-and-week models after two weeks.

        The second holds the first (its weekly profile starts at zero), so after two
        weeks of evidence the one with the larger error is dropped instead of being
        updated at every point for the rest of the series: a third of the cost of
        sub-daily data.
        """
        day, week = self._candidates[1], self._candidates[2]
        if week.forecaster.cycles < _NESTED_CYCLES:
            return
        drop = 2 if week.error > day.error else 1
        del self._candidates[drop]
        self._nested = False
        if self._selected == drop:
            self._selected = 1
        elif self._selected > drop:
            self._selected -= 1
        if self._found is not None and self._found > drop:
            self._found -= 1

    def _select(self) -> None:
        current = self._candidates[self._selected].error
        best, best_error = self._selected, current * self.seasonal_gain
        for index, candidate in enumerate(self._candidates):
            error = candidate.error
            if error < best_error and candidate.forecaster.cycles >= 1.0:
                best, best_error = index, error
        self._selected = best

    def _look_for_cycle(self) -> None:
        """Propose a data-driven period that the calendar did not already cover."""
        values = [y for _, y in self._buffer]
        lag = autocorrelation_period(values, self.max_phases, threshold=0.3)
        if lag is None:
            return
        period = lag * self._step
        for candidate in self._candidates:
            if any(_is_multiple(known, period) for known in candidate.forecaster.periods):
                return
        if self._found is None:
            self._found = len(self._candidates)
            self._candidates.append(self._train((period,)))
        elif self._found != self._selected:
            self._candidates[self._found] = self._train((period,))


def _is_multiple(a: float, b: float) -> bool:
    """Whether the longer of two periods is (within 10%) a whole multiple of the shorter."""
    ratio = max(a, b) / min(a, b)
    return abs(ratio - round(ratio)) < 0.1 * ratio
