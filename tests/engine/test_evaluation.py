"""``creditbrain models evaluate`` on a tiny city (figures are not asserted, only their shape)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from creditbrain.alerts.policy import PolicySet
from creditbrain.cli.models import models_app
from creditbrain.engine.evaluation import (
    ANOMALY_THRESHOLDS,
    DEFAULT_ANOMALY_THRESHOLD,
    PROBABILITY_THRESHOLD,
    Replay,
    score_warnings,
)

DAY = 86_400_000


def test_evaluate_command_prints_one_json_object() -> None:
    result = CliRunner().invoke(
        models_app, ["evaluate", "--seed", "5", "--scale", "0.004", "--days", "60", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    methods = [outcome["method"] for outcome in report["outcomes"]]
    assert methods[:2] == ["rules only", "rules + models"]
    assert report["seed"] == 5 and report["events"] > 0


def test_evaluate_command_prints_a_table() -> None:
    result = CliRunner().invoke(
        models_app, ["evaluate", "--scale", "0.004", "--days", "45", "--warm-seed", "-1"]
    )
    assert result.exit_code == 0, result.output
    assert "| rules only |" in result.stdout


def test_warning_definitions() -> None:
    found = Replay(0, 300 * DAY, subjects=1000, reds={"a": [200 * DAY], "b": [100 * DAY]})
    first = {
        "a": 150 * DAY,  # early, red within 90 days: true, lead 50
        "b": 120 * DAY,  # after its red event: a detection, not counted
        "c": 10 * DAY,  # never red, but its story is a deteriorating slide: true
        "d": 10 * DAY,  # never red: false
    }
    outcome = score_warnings("m", first, found, deteriorating={"c"})
    assert outcome.warned == 3
    assert outcome.precision == 2 / 3
    assert outcome.recall == 1 / 2
    assert outcome.median_lead_days == 50
    assert outcome.false_per_1000_month == 1 / 1 / 10


def test_the_evaluated_thresholds_are_the_default_policies() -> None:
    policies = PolicySet()
    anomaly = policies.resolve("anomalous_deterioration", "finance", "371102")
    probability = policies.resolve("predicted_serious_default", "finance", "371102")
    assert DEFAULT_ANOMALY_THRESHOLD == anomaly.thresholds["threshold"]
    assert PROBABILITY_THRESHOLD == probability.thresholds["probability"]
    assert DEFAULT_ANOMALY_THRESHOLD in ANOMALY_THRESHOLDS


def test_a_slide_flagged_earlier_lengthens_the_lead() -> None:
    """Rules + models takes each subject's earliest warning: a model warning before the rule."""
    from creditbrain.engine.evaluation import _earliest

    found = Replay(0, 300 * DAY, subjects=1000, reds={"a": [200 * DAY]})
    rules = {"a": 140 * DAY}
    models = {"a": 120 * DAY, "z": 5 * DAY}  # z: never red, no story: a false warning
    merged = _earliest(rules, models)
    assert merged == {"a": 120 * DAY, "z": 5 * DAY}
    both = score_warnings("rules + models", merged, found, deteriorating=set())
    alone = score_warnings("rules only", rules, found, deteriorating=set())
    assert (alone.median_lead_days, both.median_lead_days) == (60, 80)
    assert (alone.precision, both.precision) == (1.0, 0.5)
