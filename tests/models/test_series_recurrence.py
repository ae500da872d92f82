"""The daily routine: a spike every night at a jittered minute alarms only until it is a habit."""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Any

from creditbrain.models.series import SeriesDetector
from creditbrain.models.series.recurrence import DAY, DailyRecurrence

STEP = 300.0
PER_DAY = int(DAY / STEP)


def nightly_series(days: int, seed: int = 7) -> tuple[list[float], list[int]]:
    """A quiet CPU near 5 with a spike to 60 once a night, within half an hour of 03:00."""
    rng = random.Random(seed)
    values = [5.0 + rng.gauss(0.0, 0.3) for _ in range(days * PER_DAY)]
    spikes = []
    for day in range(days):
        i = day * PER_DAY + 36 + rng.randint(-6, 6)
        values[i] = 60.0
        spikes.append(i)
    return values, spikes


def scores_of(detector: SeriesDetector, values: list[float]) -> list[float]:
    out = []
    for i, y in enumerate(values):
        x: dict[Hashable, Any] = {"timestamp": 1_704_067_200.0 + STEP * i, "value": y}
        out.append(detector.score_one(x))
        detector.learn_one(x)
    return out


def test_a_nightly_spike_stops_alarming_once_it_is_the_routine() -> None:
    values, spikes = nightly_series(10)
    scores = scores_of(SeriesDetector(), values)
    # The layer starts after warm-up and 150 points; the first nights in its range
    # are news, from the fourth night on the spike is the routine.
    assert max(scores[i] for i in spikes[1:3]) > 0.9
    assert max(scores[i] for i in spikes[4:]) < 0.01
    # Without the layer (the city-level watch's setting) every night alarms.
    raw = scores_of(SeriesDetector(likelihood=False, novelty=False, incident=0), values)
    assert min(raw[i] for i in spikes[4:]) > 0.9


def test_a_spike_at_another_hour_still_alarms() -> None:
    values, spikes = nightly_series(10)
    odd = 8 * PER_DAY + 150  # 12:30 on the ninth day, far from the nightly hour
    values[odd] = 60.0
    scores = scores_of(SeriesDetector(), values)
    assert scores[odd] > 0.9
    assert max(scores[i] for i in spikes[4:]) < 0.01


def test_surprises_at_every_hour_are_no_routine() -> None:
    # Surprises scattered over every hour of the day: matching ones at this hour on
    # earlier days are what chance gives, so nothing is explained away.
    rng = random.Random(3)
    routine = DailyRecurrence()
    t = 0.0
    for _ in range(7 * 24):
        t += rng.uniform(1800.0, 5400.0)
        routine.add(t, 20.0)
    assert routine.level(t + 600.0, 20.0) == 20.0
