"""The univariate series detector: contract, conformance, detection, files and CLI."""

from __future__ import annotations

import copy
import math
import pickle
import random
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import base
from typer.testing import CliRunner

from creditbrain.cli.models import models_app
from creditbrain.core.errors import InputFileError
from creditbrain.models.series import RollingZScore, SeriesDetector
from creditbrain.models.series.forecaster import SeasonalForecaster
from creditbrain.models.series.io import detect_csv, parse_timestamp, read_series
from creditbrain.models.series.synthetic import KINDS, generate

HOUR = 3600.0
START = 1_704_067_200.0  # 2024-01-01T00:00:00Z, a Monday

DETECTORS: list[Callable[[], base.AnomalyDetector]] = [SeriesDetector, RollingZScore]


def run(
    detector: base.AnomalyDetector, timestamps: Sequence[float], values: Sequence[float | None]
) -> list[float]:
    scores = []
    for t, y in zip(timestamps, values, strict=True):
        x: dict[Hashable, Any] = {"timestamp": t, "value": y}
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    return scores


def hourly_traffic(weeks: int, seed: int, noise: float = 4.0) -> tuple[list[float], list[float]]:
    """Hourly counts-like values with a daily cycle and quieter weekends."""
    rng = random.Random(seed)
    timestamps, values = [], []
    for i in range(24 * 7 * weeks):
        day = 0.5 + 0.5 * math.cos(2 * math.pi * (i % 24 - 14) / 24)
        weekend = 0.6 if (i // 24) % 7 >= 5 else 1.0
        timestamps.append(START + HOUR * i)
        values.append(40.0 + 100.0 * day * weekend + rng.gauss(0.0, noise))
    return timestamps, values


# --- the contract: one score per row, in [0, 1], online ---------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_one_score_in_unit_interval_per_row(kind: str) -> None:
    series = generate(kind, seed=7)
    scores = run(SeriesDetector(), series.timestamps, series.values)
    assert len(scores) == len(series.values)
    assert all(0.0 <= s <= 1.0 for s in scores)


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.floats(min_value=0.0, max_value=7200.0), min_size=40, max_size=160),
    seed=st.integers(0, 10_000),
    cut=st.floats(min_value=0.0, max_value=1.0),
)
def test_scores_of_a_prefix_do_not_change_when_rows_are_appended(
    steps: list[float], seed: int, cut: float
) -> None:
    rng = random.Random(seed)
    timestamps = [START + sum(steps[: i + 1]) for i in range(len(steps))]
    values: list[float | None] = [
        None if rng.random() < 0.1 else rng.choice([rng.gauss(10, 2), rng.expovariate(0.1)])
        for _ in steps
    ]
    full = run(SeriesDetector(warmup=8), timestamps, values)
    k = int(cut * len(steps))
    assert run(SeriesDetector(warmup=8), timestamps[:k], values[:k]) == full[:k]


def test_scores_of_a_file_prefix_do_not_change(tmp_path: Path) -> None:
    timestamps, values = hourly_traffic(weeks=3, seed=1)
    lines = ["timestamp,value"] + [
        f"{t:.0f},{y:.3f}" for t, y in zip(timestamps, values, strict=True)
    ]
    outputs = []
    for n in (200, len(values)):
        source, target = tmp_path / f"in{n}.csv", tmp_path / f"out{n}.csv"
        source.write_text("\n".join(lines[: n + 1]) + "\n")
        detect_csv(str(source), str(target))
        outputs.append(target.read_text().splitlines())
    assert outputs[1][:201] == outputs[0]


def test_missing_values_score_zero_and_teach_nothing() -> None:
    timestamps, values = hourly_traffic(weeks=2, seed=2)
    gappy: list[float | None] = list(values)
    holes = set(range(50, len(values), 17))
    for i in holes:
        gappy[i] = math.nan if i % 2 else None
    scores = run(SeriesDetector(), timestamps, gappy)
    kept = [i for i in range(len(values)) if i not in holes]
    without = run(SeriesDetector(), [timestamps[i] for i in kept], [values[i] for i in kept])
    assert all(scores[i] == 0.0 for i in holes)
    assert [scores[i] for i in kept] == without


def test_a_cold_detector_is_neutral() -> None:
    timestamps, values = hourly_traffic(weeks=1, seed=3)
    values[5] = 10_000.0
    assert run(SeriesDetector(warmup=32), timestamps[:32], values[:32]) == [0.0] * 32


# --- conformance, as river/checks does for River's own detectors -------------------


@pytest.mark.parametrize("make", DETECTORS, ids=lambda make: make.__name__)
def test_conformance(make: Callable[[], base.AnomalyDetector]) -> None:
    timestamps, values = hourly_traffic(weeks=2, seed=4)
    detector = make()
    first = run(detector, timestamps[:200], values[:200])

    # A clone is a fresh detector with the same parameters.
    clone = detector.clone()
    assert clone._get_params() == detector._get_params()
    assert run(clone, timestamps[:200], values[:200]) == first

    # A pickled detector carries on exactly where the original was.
    revived = pickle.loads(pickle.dumps(detector))
    rest = slice(200, None)
    assert run(revived, timestamps[rest], values[rest]) == run(
        detector, timestamps[rest], values[rest]
    )

    # Runs are deterministic, x is never mutated and the key order does not matter.
    fresh, reordered = make(), make()
    for t, y in zip(timestamps, values, strict=True):
        x: dict[Hashable, Any] = {"timestamp": t, "value": y}
        kept = copy.deepcopy(x)
        flipped: dict[Hashable, Any] = {"value": y, "timestamp": t}
        assert fresh.score_one(x) == reordered.score_one(flipped)
        assert fresh.learn_one(x) is None
        reordered.learn_one(flipped)
        assert x == kept


# --- detection --------------------------------------------------------------------


def test_a_clear_spike_is_flagged_at_once() -> None:
    timestamps, values = hourly_traffic(weeks=4, seed=5)
    spike = 24 * 7 * 3 + 10
    values[spike] += 60.0
    scores = run(SeriesDetector(), timestamps, values)
    assert scores[spike] >= 0.9
    assert max(scores[spike - 200 : spike]) < 0.5


def test_a_level_shift_is_flagged_at_onset_then_absorbed() -> None:
    rng = random.Random(6)
    n, onset = 1500, 1000
    timestamps = [START + 60.0 * i for i in range(n)]
    values = [50.0 + rng.gauss(0, 1) + (8.0 if i >= onset else 0.0) for i in range(n)]
    scores = run(SeriesDetector(), timestamps, values)
    assert max(scores[onset : onset + 5]) >= 0.9
    assert max(scores[onset - 300 : onset]) < 0.5
    assert max(scores[onset + 100 :]) < 0.5


def test_a_value_wrong_for_its_time_of_day_is_flagged() -> None:
    timestamps, values = hourly_traffic(weeks=5, seed=8, noise=3.0)
    # Mid-afternoon traffic at 3 a.m. on a Tuesday of the fifth week: a value seen
    # every day, but never at night.
    night = 24 * (7 * 4 + 1) + 3
    values[night : night + 2] = [values[night - 12], values[night - 11]]
    scores = run(SeriesDetector(), timestamps, values)
    baseline = run(RollingZScore(), timestamps, values)
    assert max(scores[night : night + 2]) >= 0.9
    assert max(baseline[night : night + 2]) < 0.5


def test_a_noise_burst_is_flagged() -> None:
    rng = random.Random(9)
    n, burst = 2000, 1500
    timestamps = [START + 60.0 * i for i in range(n)]
    values = [20.0 + rng.gauss(0, 4.0 if burst <= i < burst + 60 else 1.0) for i in range(n)]
    scores = run(SeriesDetector(), timestamps, values)
    assert max(scores[burst : burst + 60]) >= 0.9


def test_a_short_burst_does_not_blind_the_detector_after_it() -> None:
    # A dozen points of noise 60 times the usual (a network counter's burst) used to
    # rescale the residual scales about 60 times at once: a spike of 80 usual scales
    # 60 points after the burst then scored 0 (0.58 now). One confirmation now moves
    # the scales at most 4 times.
    rng = random.Random(5)
    n, burst, spike = 1200, 900, 960
    timestamps = [START + 300.0 * i for i in range(n)]
    values = [1e6 + rng.gauss(0.0, 6e7 if burst <= i < burst + 12 else 1e6) for i in range(n)]
    values[spike] = 1e6 + 80e6
    raw = SeriesDetector(likelihood=False, novelty=False, incident=0)
    assert run(raw, timestamps, values)[spike] >= 0.5


def test_a_spike_learned_in_the_first_cycle_is_unlearned_after_two_misses() -> None:
    # The first cycle's profile is the raw values, so a one-off spike there becomes the
    # profile; the bounded updates (3 scales of a quiet series) could not unlearn it,
    # and every later visit of that phase missed by the spike's height.
    model = SeasonalForecaster(periods=(24.0,), step=1.0, alpha=0.05, gamma=0.1)
    for t in range(24 * 6):
        spike = 100.0 if t == 5 else 0.0
        model.learn_one(float(t), 10.0 + (t % 24) * 0.1 + spike, bound=0.3)
    assert abs(model.forecast_one(24.0 * 6 + 5) - 10.5) < 1.0


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_few_false_alarms_on_a_clean_seasonal_series(seed: int) -> None:
    timestamps, values = hourly_traffic(weeks=8, seed=seed)
    scores = run(SeriesDetector(), timestamps, values)
    alarms = sum(s >= 0.5 for s in scores)
    assert alarms <= 0.002 * len(scores)


# --- files -------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "series.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("time,value\n1,2\n", "no column 'timestamp'"),
        ("timestamp,val\n1,2\n", "no column 'value'"),
        ("timestamp,value\n2024-01-01,1\n2024-13-45,2\n", "line 3: unreadable timestamp"),
        (
            "timestamp,value\n2024-01-01,1\n2024-01-02,lots\n",
            "line 3: value 'lots' is not a number",
        ),
        ("timestamp,value\n2024-01-01\n", "line 2: expected 2 fields, got 1"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_series(write(tmp_path, text))


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_series(str(tmp_path / "nowhere.csv"))


def test_rows_are_echoed_exactly_and_blanks_are_kept(tmp_path: Path) -> None:
    text = "Value,Timestamp\n 1.50,2024-01-01T00:00:00+08:00\n,2024-01-01T01:00\nNaN,1704070800\n"
    target = tmp_path / "scores.csv"
    detect_csv(write(tmp_path, text), str(target))
    assert target.read_text().splitlines() == [
        "timestamp,value,anomaly_score",
        "2024-01-01T00:00:00+08:00, 1.50,0.000000",
        "2024-01-01T01:00,,0.000000",
        "1704070800,NaN,0.000000",
    ]


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)))
def test_timestamp_formats_agree(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    wall = (moment - datetime(1970, 1, 1)).total_seconds()
    assert parse_timestamp(moment.isoformat()) == wall
    assert parse_timestamp(moment.isoformat(sep=" ")) == wall
    assert parse_timestamp(moment.replace(tzinfo=UTC).isoformat()) == wall
    assert parse_timestamp(f"{wall:.0f}") == wall
    offset = moment.replace(tzinfo=None) + timedelta(hours=8)
    assert parse_timestamp(offset.isoformat() + "+08:00") == wall + 8 * 3600
    assert parse_timestamp(moment.date().isoformat()) == wall - (wall % 86_400)


# --- the command line --------------------------------------------------------------


def test_cli_scores_twenty_thousand_rows(tmp_path: Path) -> None:
    rng = random.Random(14)
    spike = 15_000
    rows = ["timestamp,value"]
    for i in range(20_000):
        moment = datetime(2024, 1, 1) + timedelta(minutes=5 * i)
        value = 100 + 30 * math.sin(2 * math.pi * i / 288) + rng.gauss(0, 3)
        rows.append(f"{moment.isoformat()}Z,{value + (60 if i == spike else 0):.3f}")
    source, target = tmp_path / "series.csv", tmp_path / "scores.csv"
    source.write_text("\n".join(rows) + "\n")

    result = CliRunner().invoke(
        models_app, ["detect-series", "--input", str(source), "--output", str(target)]
    )

    assert result.exit_code == 0, result.output
    assert "20000 rows scored" in result.output
    out = target.read_text().splitlines()
    assert len(out) == 20_001
    assert [line.rsplit(",", 1)[0] for line in out[1:]] == rows[1:]
    assert float(out[spike + 1].rsplit(",", 1)[1]) >= 0.9


def test_cli_reports_a_bad_file_in_one_line(tmp_path: Path) -> None:
    source = write(tmp_path, "timestamp,value\nsoon,1\n")
    result = CliRunner().invoke(
        models_app, ["detect-series", "--input", source, "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 1
    assert "line 2: unreadable timestamp" in result.output


@pytest.mark.parametrize("weekend_lift", [0.0, 40.0])
def test_after_two_weeks_one_of_the_nested_day_and_week_models_is_dropped(
    weekend_lift: float,
) -> None:
    # Hourly data: the day-and-week model holds the day model; once it has seen two
    # weeks only the better one is updated, the one with the weekly profile when the
    # weekend differs, and detection carries on. (With the weekend lifted, the spike is
    # missed with or without the pruning: the misfits of the first weekend are in the
    # surprise history; docs/series-detector.md, known limits.)
    rng = random.Random(4)
    n = 24 * 7 * 3
    times = [START + HOUR * i for i in range(n)]
    values = [
        100.0
        + 20.0 * math.sin(2 * math.pi * i / 24)
        + (weekend_lift if (i // 24) % 7 >= 5 else 0.0)
        + rng.gauss(0.0, 2.0)
        for i in range(n)
    ]
    spike = 24 * 16 + 10  # a Wednesday of the third week
    values[spike] += 40.0
    detector = SeriesDetector()
    scores = run(detector, times, values)
    periods = [model.forecaster.periods for model in detector._candidates]
    assert len(periods) == 2 and periods[0] == ()
    if weekend_lift:
        assert periods[1] == (86_400.0, 604_800.0)
    else:
        assert scores[spike] > 0.9
    assert max(scores[24 * 15 : spike]) < 0.5
