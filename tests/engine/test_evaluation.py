"""``creditbrain models evaluate``: the honest definitions, and the figures of a fixed city."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditbrain.cli.models import models_app
from creditbrain.engine.evaluation import METHODS, Report, run
from creditbrain.engine.scoring import HORIZONS, Observed, calibration, merged, score

DAY = 86_400_000


def observed(**reds: int) -> Observed:
    seen = Observed(0, 400 * DAY, reds={s: [d * DAY] for s, d in reds.items()})
    seen.precursor = {s: 0 for s in reds}
    seen.subjects.update(reds)
    return seen


def test_a_warning_is_true_only_if_a_red_event_follows_within_the_horizon() -> None:
    seen = observed(a=200, b=300, c=100)
    seen.subjects.update(("h1", "h2", "h3"))
    first = {
        "a": [150 * DAY],  # red 50 days later: true at every horizon
        "b": [60 * DAY],  # red 240 days later: false at 90 and 180, true at 365
        "c": [120 * DAY],  # after its red event: a detection, not counted
        "h1": [10 * DAY],  # never red, the span ran on: false
        "h2": [350 * DAY],  # never red, 50 days left: censored at 90, 180 and 365
    }
    at = {h: score("m", first, seen, h) for h in HORIZONS}
    assert (at[90].warned, at[90].true, at[90].false, at[90].censored) == (4, 1, 2, 1)
    assert at[90].precision == 1 / 3 and at[365].precision == 2 / 3
    assert (at[90].recall, at[365].recall) == (1 / 3, 2 / 3)
    assert (at[90].median_lead_days, at[365].median_lead_days) == (50, 145)
    assert (at[365].false, at[365].censored) == (1, 1)  # h1 false still: 10 + 365 <= 400
    # 2 healthy subjects warned (h1, h2) among 3, over 400/30 months
    assert at[90].false_alarms == 2
    assert at[90].false_per_1000_healthy_month == pytest.approx(2 / 3 * 1000 / (400 / 30))


def test_recall_is_over_red_subjects_with_a_precursor() -> None:
    seen = observed(a=200, b=300)
    seen.precursor = {"a": 10 * DAY, "b": 301 * DAY}  # b's only sign came after its red event
    outcome = score("m", {"a": [150 * DAY], "b": [250 * DAY]}, seen, 90)
    assert outcome.ceiling == 1 / 2
    assert outcome.recall == 1.0  # b is true at 90 but not in the recall's base
    assert outcome.true == 2


def test_keep_restricts_the_city() -> None:
    seen = observed(a=200, b=300)
    seen.subjects.add("h")
    first = {"a": [150 * DAY], "b": [250 * DAY], "h": [5 * DAY]}
    only_a = score("m", first, seen, 90, keep={"a", "h"})
    assert (only_a.warned, only_a.true, only_a.false, only_a.recall) == (2, 1, 1, 1.0)


def test_every_warning_counts_and_recall_needs_one_within_the_horizon() -> None:
    seen = observed(a=300)
    seen.subjects.add("h")
    # A model warning 250 days ahead (false at 180), the rule's 100 days ahead (true).
    both = merged({"a": [200 * DAY]}, {"a": [50 * DAY], "h": [5 * DAY, 40 * DAY]})
    assert both == {"a": [50 * DAY, 200 * DAY], "h": [5 * DAY, 40 * DAY]}
    outcome = score("m", both, seen, 180)
    assert (outcome.true, outcome.false, outcome.recall) == (1, 3, 1.0)
    assert outcome.median_lead_days == 100
    assert outcome.false_alarms == 2  # two warnings of the healthy subject


def test_calibration_judges_only_predictions_whose_horizon_is_within_the_span() -> None:
    seen = observed(a=100)
    seen.predictions = [("a", 50 * DAY, 0.9), ("b", 50 * DAY, 0.1), ("a", 390 * DAY, 0.5)]
    cal = calibration(seen)
    assert cal["n"] == 2 and cal["base_rate"] == 0.5
    assert cal["brier"] == pytest.approx((0.1**2 + 0.1**2) / 2)


@pytest.fixture(scope="module")
def city() -> Report:
    # 0.02 of the default city over a year, models warmed on a year of seed 1: small
    # enough for the suite (about 15 s), big enough that both models speak.
    return run(seed=7, scale=0.02, warm_seed=1, days=365)


def test_figures_of_a_fixed_city(city: Report) -> None:
    """Bounds, not points, at 180 days: the city has 16 declining subjects, so one more or
    less moves a recall by about 0.06; each bound leaves room for two or three.

    Measured when written (seed 7, warm seed 1): rules precision 0.52, recall 1.00 of a
    ceiling of 0.67, lead 151 days, 12.5 false alarms per 1,000 healthy subjects a
    month; models 0.79, 0.88, 136 days, 0.44; both 0.56, 1.00, 156 days. The classic
    slide shows months before its red event, so the rules catch all of it; the models,
    warmed on a year of the same kind of city, are more precise, and together they warn
    earlier than the rules alone.
    """
    rules = city.outcome("rules only")
    models = city.outcome("models only")
    both = city.outcome("rules + models")
    assert city.subjects > 500 and city.events > 3000
    assert rules.ceiling is not None and 0.5 <= rules.ceiling <= 0.85
    assert rules.recall is not None and rules.recall >= 0.8
    assert rules.precision is not None and rules.precision >= 0.35
    assert models.precision is not None and models.precision >= 0.55
    assert models.recall is not None and models.recall >= 0.6
    assert both.recall is not None and both.recall >= rules.recall
    assert both.median_lead_days is not None and rules.median_lead_days is not None
    assert both.median_lead_days >= rules.median_lead_days
    assert rules.false_per_1000_healthy_month < 20
    assert models.false_per_1000_healthy_month < 2
    assert city.calibration["n"] > 1000
    assert city.calibration["brier"] < city.calibration["brier_base_rate"]


def test_report_lists_every_method_at_every_horizon(city: Report) -> None:
    assert {(o.method, o.horizon_days) for o in city.outcomes} == {
        (m, h) for m in METHODS for h in HORIZONS
    }
    assert city.stories and not city.held_out  # the classic mix names no kinds of decline


def test_evaluate_command_on_a_file_with_its_truth(tmp_path: Path) -> None:
    from creditbrain.cli.simulate import simulate_app

    out = tmp_path / "city.jsonl"
    made = CliRunner().invoke(
        simulate_app,
        ["file", str(out), "--subjects-scale", "0.002", "--days", "60", "--seed", "3", "--quiet"],
    )
    assert made.exit_code == 0, made.output
    truth = tmp_path / "city.truth.json"
    result = CliRunner().invoke(
        models_app, ["evaluate", "--input", str(out), "--truth", str(truth), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"] == {"input": str(out)}
    assert report["events"] > 0 and len(report["outcomes"]) == len(METHODS) * len(HORIZONS)


def test_evaluate_command_prints_a_table() -> None:
    result = CliRunner().invoke(models_app, ["evaluate", "--scale", "0.004", "--days", "45"])
    assert result.exit_code == 0, result.output
    assert "| rules only | 180 |" in result.stdout


def test_the_detector_trial_scores_its_warnings_like_the_models() -> None:
    from creditbrain.engine.trial import QUANTILES, trial

    rows = trial(seed=3, scale=0.01, days=200)
    assert [row.quantile for row in rows] == list(QUANTILES)
    thresholds = [row.threshold for row in rows]
    assert thresholds == sorted(thresholds) and 0 < thresholds[0] <= 1
    # A higher threshold warns no more often.
    warned = [row.whole.warned for row in rows]
    assert warned == sorted(warned, reverse=True) and warned[0] > 0


def test_evaluate_command_tries_the_regression_behind_the_deterioration_rule() -> None:
    result = CliRunner().invoke(
        models_app, ["evaluate", "--scale", "0.004", "--days", "60", "--no-detector", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["source"]["detector"] is False
    assert report["explained"] == report["model_warnings"]
