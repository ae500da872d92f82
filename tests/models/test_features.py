"""Subject features on hand-built states."""

from __future__ import annotations

from creditbrain.models.features import (
    FEATURE_NAMES,
    HISTORY_LIMIT,
    FeatureState,
    is_red,
    subject_features,
)
from creditbrain.models.scorecard import DAY_MS, DEFAULT_SCORECARD, evaluate
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import EntityState, Record

CODE = "91350100M000100Y43"


def slide() -> EntityState:
    state = EntityState(CODE, SubjectType.ENTERPRISE, sector="construction")
    state.add(Record(0, "si1", "social_insurance_arrears", amount_cny=5_000, quantity=1))
    state.add(Record(30 * DAY_MS, "si2", "social_insurance_arrears", amount_cny=10_000, quantity=2))
    state.add(Record(40 * DAY_MS, "tax", "tax_arrears", amount_cny=80_000, quantity=6))
    state.add(Record(50 * DAY_MS, "p1", "penalty", "general", 1_000))
    state.add(Record(50 * DAY_MS, "lic", "license"))
    state.add(Record(400 * DAY_MS, "p2", "penalty", "serious", 1_000))
    return state


def test_every_feature_is_in_the_unit_interval_and_named() -> None:
    state = slide()
    at = 60 * DAY_MS
    x, _ = subject_features(state, evaluate(state, at, DEFAULT_SCORECARD), at, None)
    assert tuple(x) == FEATURE_NAMES
    assert all(0.0 <= value <= 1.0 for value in x.values())


def test_windows_count_by_event_time_and_ignore_later_records() -> None:
    state = slide()
    at = 60 * DAY_MS
    x, _ = subject_features(state, evaluate(state, at, DEFAULT_SCORECARD), at, None)
    # Windows are (t - 30 days, t]: tax (day 40) is in, si2 (day 30) just out; all three
    # arrears reports are within 90 days.
    assert x["arrears_30d"] == 1 / 3
    assert x["arrears_90d"] == 3 / 5
    assert x["penalty_30d"] == 1 / 3  # the serious penalty at day 400 lies in the future
    assert x["positive_365d"] == 0.0  # a licence is not counted


def test_open_arrears_are_the_latest_reports() -> None:
    state = slide()
    at = 60 * DAY_MS
    x, _ = subject_features(state, evaluate(state, at, DEFAULT_SCORECARD), at, None)
    assert x["si_months"] == 2 / 12  # the report of month 1 is superseded
    assert x["tax_months"] == 6 / 12
    assert abs(x["open_arrears"] - 2 / 3) < 1e-12
    assert x["wage_workers"] == 0.0


def test_score_velocity_and_quiet_time_from_the_feature_state() -> None:
    state = slide()
    history = FeatureState().after(0, 990).after(30 * DAY_MS, 980)
    at = 60 * DAY_MS
    result = evaluate(state, at, DEFAULT_SCORECARD)
    x, after = subject_features(state, result, at, history)
    assert x["fall_30d"] == (980 - result.score) / 300
    assert x["fall_90d"] == (1000 - result.score) / 300
    assert x["rise_90d"] == 0.0
    assert after.history[-1] == (at, result.score)
    assert 0.0 < x["quiet"] < 1.0  # ten days since the penalty of day 50
    assert x["type_enterprise"] == 1.0 and x["sector_works"] == 1.0


def test_first_record_is_quiet_and_feature_state_is_bounded() -> None:
    state = EntityState(CODE, SubjectType.PERSON)
    state.add(Record(0, "a", "penalty", "general"))
    x, _ = subject_features(state, evaluate(state, 0, DEFAULT_SCORECARD), 0, None)
    assert x["quiet"] == 1.0 and x["sector_other"] == 1.0
    fs = FeatureState()
    for day in range(100):
        fs = fs.after(day * DAY_MS, 1000 - day)
    assert len(fs.history) <= HISTORY_LIMIT
    assert fs.score_at(99 * DAY_MS) == 901
    assert FeatureState.from_json(fs.to_json()) == fs


def test_red_records() -> None:
    assert is_red(Record(0, "a", "dishonest_debtor"))
    assert is_red(Record(0, "a", "list_entry", "serious_dishonesty"))
    assert not is_red(Record(0, "a", "list_entry", "key_attention"))
    assert not is_red(Record(0, "a", "wage_arrears", quantity=9))


def test_trajectory_features_see_new_trouble_of_several_kinds() -> None:
    state = slide()
    at = 60 * DAY_MS
    x, _ = subject_features(state, evaluate(state, at, DEFAULT_SCORECARD), at, None)
    assert x["arrears_kinds_90d"] == 2 / 3  # social insurance and tax
    assert x["arrears_new"] == 1.0  # no arrears before the last 90 days
    assert x["trouble_kinds_90d"] == 3 / 5  # two arrears kinds and a penalty
    assert x["trouble_recent"] == 1.0
    # A year on, the same arrears are old news.
    later = 420 * DAY_MS
    y, _ = subject_features(state, evaluate(state, later, DEFAULT_SCORECARD), later, None)
    assert y["arrears_kinds_90d"] == 0.0 and y["arrears_new"] == 0.0
    assert y["trouble_recent"] == 1.0  # only the serious penalty of day 400 is within a year


def test_a_faster_fall_shows_as_speedup() -> None:
    state = slide()
    at = 60 * DAY_MS
    result = evaluate(state, at, DEFAULT_SCORECARD)
    steady = FeatureState().after(0, result.score + 60).after(30 * DAY_MS, result.score + 30)
    sudden = FeatureState().after(0, result.score + 60).after(30 * DAY_MS, result.score + 60)
    x_steady, _ = subject_features(state, result, at, steady)
    x_sudden, _ = subject_features(state, result, at, sudden)
    assert x_sudden["fall_speedup"] > x_steady["fall_speedup"]
