"""Subject features on hand-built states."""

from __future__ import annotations

import copy
import math
import pickle
import random

import orjson
import pytest

from creditbrain.alerts.policy import PolicySet
from creditbrain.core.eventtime import DAY_MS
from creditbrain.models.features import (
    FEATURE_NAMES,
    HISTORY_LIMIT,
    KIND_GROUPS,
    SECTOR_GROUPS,
    FeatureState,
    is_red,
    sparse_features,
    subject_features,
)
from creditbrain.models.scorecard import DEFAULT_SCORECARD, evaluate
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import EntityState, Record, ScoreResult

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


def in_place(sector: str, district: str, kind: SubjectType = SubjectType.ENTERPRISE) -> EntityState:
    return EntityState("S", kind, sector=sector, district=district)


def overridden(scope: str, rules: dict[str, object]) -> PolicySet:
    return PolicySet.model_validate({"overrides": {scope: {"rules": rules}}})


def test_the_red_label_follows_the_wage_arrears_threshold_in_force() -> None:
    five = Record(0, "a", "wage_arrears", quantity=5)
    lowered = overridden(
        "sector=construction", {"wage_arrears": {"thresholds": {"red_workers": 3}}}
    )
    builder = in_place("construction", "371102")
    assert not is_red(five, builder)
    assert not is_red(five, builder, PolicySet())
    assert is_red(five, builder, lowered)
    # Another sector keeps the default of 10 workers.
    assert not is_red(five, in_place("finance", "371102"), lowered)
    assert not is_red(five._replace(quantity=2), builder, lowered)


def test_a_rule_switched_off_or_below_red_defines_no_red_event_there() -> None:
    listing = Record(0, "a", "dishonest_debtor")
    orange = overridden("district=371103", {"dishonest_debtor_listed": {"level": "orange"}})
    assert is_red(listing, in_place("finance", "371102"), orange)
    assert not is_red(listing, in_place("finance", "371103"), orange)
    # A government body's listing is still red by its own rule.
    assert is_red(listing, in_place("government", "371103", SubjectType.GOVERNMENT), orange)
    off = overridden("*", {"wage_arrears": {"enabled": False}})
    assert not is_red(
        Record(0, "a", "wage_arrears", quantity=50), in_place("finance", "371102"), off
    )


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


# --- the sparse features against a plain reading of their definitions ---------------------

_CLASSES = (
    ("penalty", "general", None, None),
    ("penalty", "serious", 20_000, None),
    ("penalty", "simple", None, None),
    ("judgment", "defendant", 50_000, None),
    ("judgment", "plaintiff", None, None),
    ("tax_arrears", None, 80_000, 4),
    ("social_insurance_arrears", None, 9_000, 2),
    ("wage_arrears", None, 30_000, 12),
    ("dishonest_debtor", None, None, None),
    ("list_entry", "key_attention", None, None),
    ("list_entry", "red", None, None),
    ("commendation", "city", None, None),
    ("arrears_cleared", "tax_arrears", None, None),
    ("license", None, None, None),
)


def _reference_accumulation(
    x: dict[str, float], year: list[Record], trouble: list[Record], at: int
) -> None:
    """The accumulation features, the obvious way (only with trouble in 90 days)."""
    for group in ("penalty", "judgment", "arrears", "listing"):
        mine = [r for r in trouble if KIND_GROUPS.get((r.kind, r.label)) == group]
        lately = sum(r.occurred_at > at - 90 * DAY_MS for r in mine)
        accel = lately - (len(mine) - lately) * 90 / 275
        x[f"{group}_accel"] = accel / (accel + 2.0) if accel > 0 else 0.0
    recent = sum(r.occurred_at > at - 90 * DAY_MS for r in trouble)
    x["trouble_90d"] = recent / (recent + 2.0)
    weighted = sum(math.exp((r.occurred_at - at) / (45 * DAY_MS)) for r in trouble)
    x["trouble_weighted"] = weighted / (weighted + 2.0)
    cleared: set[str] = set()
    relapses = 0
    for r in year:
        if r.kind == "arrears_cleared":
            cleared.add(r.label or "")
        elif r in trouble and r.kind in cleared:
            relapses += 1
    x["relapses"] = relapses / (relapses + 2.0)
    months = {(at - r.occurred_at) // (30 * DAY_MS) for r in trouble}
    x["trouble_months"] = len({m for m in months if m < 6}) / 6


def _reference(
    state: EntityState, result: ScoreResult, at: int, previous: FeatureState | None
) -> dict[str, float]:
    """Every feature computed the slow, obvious way from the module docstring."""
    x = dict.fromkeys(FEATURE_NAMES, 0.0)
    seen = [r for r in state.records if r.occurred_at <= at]
    year = [r for r in seen if r.occurred_at >= at - 365 * DAY_MS]

    def group_of(record: Record) -> str | None:
        return KIND_GROUPS.get((record.kind, record.label))

    def squash(count: int) -> float:
        return count / (count + 2.0)

    for group in ("penalty", "judgment", "arrears", "listing", "positive"):
        mine = [r for r in year if group_of(r) == group]
        x[f"{group}_365d"] = squash(len(mine))
        x[f"{group}_90d"] = squash(sum(r.occurred_at > at - 90 * DAY_MS for r in mine))
        x[f"{group}_30d"] = squash(sum(r.occurred_at > at - 30 * DAY_MS for r in mine))
    trouble = [r for r in year if group_of(r) in ("penalty", "judgment", "arrears", "listing")]
    recent = [r for r in trouble if r.occurred_at > at - 90 * DAY_MS]
    kinds = {r.kind for r in recent}
    arrears_kinds = kinds & {"tax_arrears", "social_insurance_arrears", "wage_arrears"}
    if kinds:
        x["arrears_kinds_90d"] = len(arrears_kinds) / 3
        year_arrears = [r for r in year if group_of(r) == "arrears"]
        if arrears_kinds and all(r.occurred_at > at - 90 * DAY_MS for r in year_arrears):
            x["arrears_new"] = 1.0
        x["trouble_kinds_90d"] = squash(len(kinds))
        x["trouble_recent"] = len(recent) / len(trouble)
        _reference_accumulation(x, year, trouble, at)
    counting = {r.event_id for r in result.reasons if r.kind.endswith("_arrears")}
    amount = 0.0
    for record in reversed(seen):
        if record.event_id not in counting:
            continue
        counting.discard(record.event_id)
        amount += record.amount_cny or 0.0
        quantity = record.quantity or 0
        if record.kind == "social_insurance_arrears":
            x["si_months"] = min(1.0, quantity / 12)
        elif record.kind == "tax_arrears":
            x["tax_months"] = min(1.0, quantity / 12)
        else:
            x["wage_workers"] = min(1.0, math.log1p(quantity) / math.log1p(100.0))
        x["open_arrears"] += 1 / 3
    x["arrears_amount"] = min(1.0, math.log1p(amount) / math.log1p(10_000_000.0))
    x["score"] = result.score / 1000
    x["grade"] = {"A": 1.0, "B": 2 / 3, "C": 1 / 3, "D": 0.0}[result.grade]
    x["deductions"] = squash(sum(r.effect < 0 for r in result.reasons))
    history = previous or FeatureState()
    change_30 = result.score - history.score_at(at - 30 * DAY_MS)
    change_90 = result.score - history.score_at(at - 90 * DAY_MS)

    def clip(value: float) -> float:
        return max(0.0, min(1.0, value))

    x["fall_30d"] = clip(-change_30 / 300)
    x["fall_90d"] = clip(-change_90 / 300)
    x["rise_90d"] = clip(change_90 / 300)
    x["fall_speedup"] = clip((-change_30 + (change_90 - change_30) / 2) / 300)
    earlier = [r.occurred_at for r in seen if r.occurred_at < at]
    days = (at - max(earlier)) / DAY_MS if earlier else None
    x["quiet"] = 1.0 if days is None else min(1.0, math.log1p(days) / math.log1p(3650.0))
    x[f"type_{state.subject_type.value}"] = 1.0
    x[f"sector_{SECTOR_GROUPS.get(state.sector or '', 'other')}"] = 1.0
    return x


def test_sparse_features_are_the_non_zero_features_in_order_on_random_subjects() -> None:
    rng = random.Random(11)
    sectors = (None, "finance", "construction", "health", "market_regulation", "unknown")
    for case in range(300):
        state = EntityState(CODE, rng.choice(list(SubjectType)), sector=rng.choice(sectors))
        for index in range(rng.randrange(0, 25)):
            kind, label, amount, quantity = rng.choice(_CLASSES)
            if quantity is not None:
                quantity = rng.randrange(0, 30)
            at = rng.randrange(0, 800) * DAY_MS
            state.add(Record(at, f"e{case}-{index}", kind, label, amount, quantity))
        at = rng.randrange(0, 900) * DAY_MS
        previous = None
        if rng.random() < 0.7:
            previous = FeatureState()
            for day in sorted(rng.sample(range(900), rng.randrange(1, 8))):
                if day * DAY_MS <= at:
                    previous = previous.after(day * DAY_MS, rng.randrange(400, 1001))
        result = evaluate(state, at, DEFAULT_SCORECARD)
        expected = _reference(state, result, at, previous)
        sparse, after = sparse_features(state, result, at, previous)
        non_zero = [name for name in FEATURE_NAMES if expected[name]]
        assert list(sparse) == non_zero, case
        for name in non_zero:
            assert sparse[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-15), name
        dense, dense_after = subject_features(state, result, at, previous)
        assert dense == {**dict.fromkeys(FEATURE_NAMES, 0.0), **sparse}
        assert after == dense_after == (previous or FeatureState()).after(at, result.score)


def test_feature_state_json_is_flat_and_reads_the_pair_format() -> None:
    state = FeatureState(((0, 990), (5 * DAY_MS, 950)))
    assert orjson.loads(state.to_json()) == {"f": 2, "h": [0, 990, 5 * DAY_MS, 950]}
    old = orjson.dumps({"f": 1, "h": [[0, 990], [5 * DAY_MS, 950]]})
    assert FeatureState.from_json(old) == state
    assert FeatureState.from_json(old.decode()).history == ((0, 990), (5 * DAY_MS, 950))
    assert FeatureState.from_json(state.to_json().decode()) == state
    assert hash(FeatureState.from_json(state.to_json())) == hash(state)
    assert pickle.loads(pickle.dumps(state)) == copy.deepcopy(state) == state
    assert FeatureState().after(0, 990) != state
    with pytest.raises(ValueError, match="format"):
        FeatureState.from_json(b'{"f": 9, "h": []}')
    with pytest.raises(ValueError, match="odd"):
        FeatureState.from_json(b'{"f": 2, "h": [0, 990, 5]}')


def test_feature_state_keeps_the_score_of_90_days_ago_and_the_limit() -> None:
    state = FeatureState()
    for day in (0, 10, 50, 95, 99):
        state = state.after(day * DAY_MS, 1000 - day)
    # At day 99, 90 days back is day 9, when the score was day 0's: that entry stays.
    assert state.history == tuple((day * DAY_MS, 1000 - day) for day in (0, 10, 50, 95, 99))
    state = state.after(105 * DAY_MS, 895)
    # At day 105 it is day 15, whose score is day 10's: day 0's entry goes.
    assert state.history == tuple((day * DAY_MS, 1000 - day) for day in (10, 50, 95, 99, 105))
    assert state.after(106 * DAY_MS, 895) is state  # no change of score, nothing to keep
    crowded = FeatureState()
    for day in range(30):
        crowded = crowded.after(day * DAY_MS, 1000 - day)
    assert len(crowded.history) == HISTORY_LIMIT
    assert crowded.history[0] == (0, 1000) and crowded.history[-1] == (29 * DAY_MS, 971)
