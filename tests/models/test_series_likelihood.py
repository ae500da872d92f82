"""The likelihood layer, the incident filter, graded scores and the Poisson tail at any count."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import time
from collections.abc import Hashable
from typing import Any

from creditbrain.models.series import SeriesDetector
from creditbrain.models.series.calibration import graded_score, poisson_tail
from creditbrain.models.series.likelihood import IncidentFilter, RecentDistribution

STEP = 300.0


def scores_of(detector: SeriesDetector, values: list[float]) -> list[float]:
    out = []
    for i, y in enumerate(values):
        x: dict[Hashable, Any] = {"timestamp": 1_704_067_200.0 + STEP * i, "value": y}
        out.append(detector.score_one(x))
        detector.learn_one(x)
    return out


def test_the_poisson_tail_of_a_huge_count_costs_no_more_than_a_small_one() -> None:
    started = time.perf_counter()
    for count in (10**8, 3 * 10**9, 10**12):
        assert poisson_tail(count, 40.0) == 0.0
        assert poisson_tail(count, 999.0) == 0.0
    assert time.perf_counter() - started < 0.05


def test_the_poisson_tail_matches_direct_summation() -> None:
    for rate in (0.2, 3.0, 40.0, 700.0, 900.0):
        for count in range(0, int(2 * rate) + 12, max(1, int(rate) // 7)):
            pmf = [math.exp(k * math.log(rate) - rate - math.lgamma(k + 1)) for k in range(3000)]
            at_most, at_least = sum(pmf[: count + 1]), sum(pmf[count:])
            expected = min(1.0, 2.0 * min(at_most, at_least))
            assert math.isclose(poisson_tail(count, rate), expected, rel_tol=1e-6, abs_tol=1e-15)


def test_graded_scores_keep_the_order_of_surprises_up_to_300() -> None:
    surprises = [4.0, 6.0, 6.2, 7.0, 10.0, 30.0, 100.0, 299.0]
    scores = [round(graded_score(s), 6) for s in surprises]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    assert all(0.0 <= s < 1.0 for s in scores)


def test_a_value_beyond_the_range_seen_is_graded_by_how_far() -> None:
    history = RecentDistribution()
    rng = random.Random(1)
    for _ in range(3000):
        history.add(rng.gauss(0.0, 1.0))
    inside, edge, far, farther = (history.upper(x) for x in (0.0, 3.0, 6.0, 9.0))
    assert inside > 0.3 and 1e-4 < edge < 1e-2
    assert farther < far < edge


def test_a_level_visited_often_is_not_novel_however_far_from_the_bulk() -> None:
    history = RecentDistribution(seen_exact=True)
    for i in range(3000):
        history.add(1.5 if i % 288 == 0 else 0.07)
    assert history.two_sided(1.5) > 1e-3
    assert history.two_sided(3.0) < 1e-4


def test_the_oldest_values_are_forgotten() -> None:
    history = RecentDistribution(memory=100)
    for i in range(1000):
        history.add(float(i))
    assert len(history) == 100
    assert history.lower(850.0) < 1e-3


def test_one_incident_gives_one_alarm_unless_it_gets_worse() -> None:
    incidents = IncidentFilter(span=3, calm=3.0, worse=0.0)
    levels = [1.0, 8.0, 7.0, 5.0, 9.0, 1.0, 4.0, 1.0, 1.0, 1.0, 6.0]
    kept = [incidents.filter(level) for level in levels]
    assert kept == [1.0, 8.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 6.0]


def test_by_default_an_incident_is_reported_again_only_an_order_of_magnitude_worse() -> None:
    incidents = IncidentFilter(span=3, calm=3.0)
    # A slow rise is one alarm; a jump ten times rarer than the peak so far is another.
    levels = [1.0, 4.0, 4.5, 4.9, 5.4, 7.0, 7.9, 1.0, 1.0, 1.0, 4.0]
    kept = [incidents.filter(level) for level in levels]
    assert kept == [1.0, 4.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 4.0]


def test_an_incident_filter_of_span_zero_reports_every_level() -> None:
    incidents = IncidentFilter(span=0)
    assert [incidents.filter(v) for v in [5.0, 4.0, 6.0]] == [5.0, 4.0, 6.0]


def test_a_routine_spike_stops_alarming_and_a_new_kind_of_anomaly_still_does() -> None:
    # A nightly job spikes to about 1.5 at a jittered minute; a CPU otherwise near 0.07.
    rng = random.Random(7)
    values = [0.07 + 0.002 * rng.random() for _ in range(288 * 14)]
    for day in range(14):
        values[day * 288 + 40 + rng.randrange(6)] = 1.4 + 0.2 * rng.random()
    onset = 288 * 12 + 150
    for i in range(onset, onset + 30):
        values[i] = 2.5 + 0.1 * rng.random()
    scores = scores_of(SeriesDetector(), values)
    late_spikes = [max(scores[d * 288 + 35 : d * 288 + 50]) for d in range(8, 14)]
    assert max(scores[onset : onset + 3]) > max(late_spikes)
    # One incident, one alarm: the rest of the episode does not top its onset.
    assert max(scores[onset + 3 : onset + 30]) < max(scores[onset : onset + 3])


def test_scores_of_real_world_like_series_are_graded_not_a_plateau() -> None:
    rng = random.Random(3)
    values = [abs(rng.lognormvariate(10.0, 1.5)) // 1 for _ in range(4000)]
    scores = scores_of(SeriesDetector(), values)
    high = [s for s in scores if s >= 0.9]
    assert scores.count(max(scores)) == 1
    assert len(high) < 40


def test_a_counter_of_bytes_costs_what_a_small_counter_costs() -> None:
    rng = random.Random(5)
    small = [float(rng.randrange(0, 50)) for _ in range(2000)]
    huge = [float(10**8 + rng.randrange(0, 10**8)) if i % 97 else 0.0 for i in range(2000)]
    timings = []
    for values in (small, huge):
        started = time.perf_counter()
        scores_of(SeriesDetector(), values)
        timings.append(time.perf_counter() - started)
    assert timings[1] < 3.0 * timings[0] + 0.5


def test_the_watch_module_needs_no_kafka() -> None:
    code = (
        "import sys; import creditbrain.models.series.watch; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('aiokafka', 'faust', 'kafka')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_any_magnitude_sign_flat_stretch_or_change_of_sampling_scores_in_range() -> None:
    rng = random.Random(11)
    flat_then_step = [5.0] * 1500 + [9.0] * 500
    negative = [-1e6 + rng.gauss(0.0, 1e3) for _ in range(2000)]
    tiny = [1e-9 * (1.0 + 0.01 * rng.random()) for _ in range(2000)]
    for values in (flat_then_step, negative, tiny):
        scores = scores_of(SeriesDetector(), values)
        assert all(0.0 <= s < 1.0 and math.isfinite(s) for s in scores)
    # The step off a long flat stretch is one alarm, at the step.
    scores = scores_of(SeriesDetector(), flat_then_step)
    assert scores.index(max(scores)) == 1500
    assert sum(s >= 0.5 for s in scores) == 1
    # Sampling that changes from 5 minutes to 1 hour halfway.
    detector, out = SeriesDetector(), []
    t = 1_704_067_200.0
    for i in range(3000):
        t += 300.0 if i < 1500 else 3600.0
        x: dict[Hashable, Any] = {"timestamp": t, "value": 50.0 + rng.gauss(0.0, 1.0)}
        out.append(detector.score_one(x))
        detector.learn_one(x)
    assert all(0.0 <= s < 1.0 for s in out)
    assert sum(s >= 0.9 for s in out) <= 3


def test_a_judged_level_scores_on_a_stretched_scale_and_a_raw_surprise_does_not() -> None:
    rng = random.Random(11)
    values = [50.0 + rng.gauss(0.0, 1.0) for _ in range(600)]
    values[500] += 9.0  # a spike after the layer has taken over (32 + 150 points)
    plain = scores_of(SeriesDetector(stretch=1.0), values)
    stretched = scores_of(SeriesDetector(stretch=1.5), values)
    assert 0.0 < plain[500] < stretched[500]
    # Same order, same zeros: a threshold only moves, a ranking does not.
    assert [s > 0 for s in plain] == [s > 0 for s in stretched]
    assert (
        sorted(range(600), key=plain.__getitem__)[-5:]
        == sorted(range(600), key=stretched.__getitem__)[-5:]
    )
    # Without the layer (the city-level watch) the stretch changes nothing.
    raw = {"likelihood": False, "novelty": False, "incident": 0}
    assert scores_of(SeriesDetector(stretch=1.0, **raw), values) == scores_of(
        SeriesDetector(stretch=1.5, **raw), values
    )
