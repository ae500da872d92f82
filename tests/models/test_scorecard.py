"""The default scorecard against DOMAIN.md, rule by rule, then as properties.

Boundaries are half-open (DOMAIN: "counts until"): a record with a one-year
publicity period counts as of its ``occurred_at`` and as of day 364 (up to the
last millisecond before day 365) and no longer as of day 365.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.models.scorecard import (
    DEFAULT_SCORECARD,
    Applied,
    Duplicate,
    Rejected,
    ScorecardConfig,
    apply_event,
    effect_of,
    evaluate,
    grade_of,
    load_scorecard,
)
from creditbrain.schemas.events import CreditEvent
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.state import EntityState, Record
from tests.strategies import (
    DAY,
    REFERRING,
    T0,
    arrival_orders,
    events_for_subject,
    make_event,
)

C = DEFAULT_SCORECARD
MS = timedelta(milliseconds=1)
YEARS_10 = 3650
NEVER, UNLIMITED = -1, None
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def at(offset: timedelta) -> int:
    return to_epoch_ms(T0 + offset)


def build(*events: CreditEvent, config: ScorecardConfig = C) -> EntityState:
    """A state with all ``events`` applied (each must apply)."""
    state = EntityState.for_event(events[0])
    for event in events:
        assert apply_event(state, event, config) == Applied(), event.kind
    return state


def apply_all(events: list[CreditEvent], subject: CreditEvent) -> EntityState:
    state = EntityState.for_event(subject)
    for event in events:
        apply_event(state, event, C)
    return state


def effects(state: EntityState, offset: timedelta, config: ScorecardConfig = C) -> dict[str, int]:
    """Event id -> effect of the reasons as of ``T0 + offset``."""
    result = evaluate(state, at(offset), config)
    return {reason.event_id: reason.effect for reason in result.reasons}


def counts(state: EntityState, event: CreditEvent, offset: timedelta) -> bool:
    return str(event.event_id) in effects(state, offset)


# A deduction that never ends, so that bonuses have something to make up for.
def ballast() -> CreditEvent:
    return make_event("dishonest_debtor", at=-DAY)


# --- when a record counts (DOMAIN.md table) ------------------------------------------------

WHEN = [
    ("penalty", {"decision_no": "D", "severity": "simple"}, NEVER),
    ("penalty", {"decision_no": "D", "severity": "general"}, 365),
    ("penalty", {"decision_no": "D", "severity": "serious"}, 1095),
    ("judgment", {"case_no": "C", "role": "defendant"}, 1095),
    ("judgment", {"case_no": "C", "role": "judgment_debtor"}, 1095),
    ("judgment", {"case_no": "C", "role": "plaintiff"}, NEVER),
    ("dishonest_debtor", {"case_no": "C"}, UNLIMITED),
    ("consumption_restriction", {"case_no": "C"}, UNLIMITED),
    ("tax_arrears", {"amount_cny": 1, "months_overdue": 1}, UNLIMITED),
    ("social_insurance_arrears", {"amount_cny": 1, "months_overdue": 1}, UNLIMITED),
    ("wage_arrears", {"amount_cny": 1, "workers_affected": 1}, UNLIMITED),
    ("list_entry", {"list": "serious_dishonesty"}, 1095),
    ("list_entry", {"list": "key_attention"}, 365),
    ("list_entry", {"list": "red"}, 1095),
    ("commitment_breach", {"commitment_no": "P"}, 365),
    ("commendation", {"title": "T", "level": "national"}, 1095),
    ("license", {"licence_no": "L"}, NEVER),
    ("commitment", {"commitment_no": "P"}, NEVER),
]


@pytest.mark.parametrize(("kind", "payload", "days"), WHEN, ids=lambda v: str(v)[:40])
def test_when_a_record_counts(kind: str, payload: dict[str, Any], days: int | None) -> None:
    record = make_event(kind, payload)
    state = build(ballast(), record)
    assert not counts(state, record, -MS)  # not before it happened
    if days == NEVER:
        assert not counts(state, record, timedelta(0))
        assert not counts(state, record, DAY)
    elif days is UNLIMITED:
        assert counts(state, record, timedelta(0))
        assert counts(state, record, YEARS_10 * DAY)
    else:
        assert counts(state, record, timedelta(0))
        assert counts(state, record, (days - 1) * DAY)
        assert counts(state, record, days * DAY - MS)
        assert not counts(state, record, days * DAY)


def test_publicity_until_does_not_change_the_period() -> None:
    payload = {"decision_no": "D", "severity": "general", "publicity_until": T0 + 30 * DAY}
    record = make_event("penalty", payload)
    state = build(record)
    assert counts(state, record, 300 * DAY)
    assert not counts(state, record, 365 * DAY)


# --- effects (DOMAIN.md scorecard) ---------------------------------------------------------

EFFECTS = [
    ("penalty", {"severity": "general"}, -20),
    ("penalty", {"severity": "general", "amount_cny": 99_999}, -20),
    ("penalty", {"severity": "general", "amount_cny": 100_000}, -30),
    ("penalty", {"severity": "general", "amount_cny": 150_000.5}, -30),
    ("penalty", {"severity": "general", "amount_cny": 399_999}, -50),
    ("penalty", {"severity": "general", "amount_cny": 10_000_000}, -60),
    ("penalty", {"severity": "serious"}, -60),
    ("penalty", {"severity": "serious", "amount_cny": 400_000}, -100),
    ("penalty", {"severity": "serious", "amount_cny": 10_000_000}, -100),
    ("judgment", {"role": "defendant"}, -30),
    ("judgment", {"role": "judgment_debtor", "amount_cny": 9_000_000}, -30),
    ("dishonest_debtor", {}, -200),
    ("consumption_restriction", {}, -80),
    ("tax_arrears", {"months_overdue": 0}, -30),
    ("tax_arrears", {"months_overdue": 2}, -30),
    ("tax_arrears", {"months_overdue": 3}, -40),
    ("tax_arrears", {"months_overdue": 17}, -80),
    ("tax_arrears", {"months_overdue": 18}, -90),
    ("tax_arrears", {"months_overdue": 300}, -90),
    ("social_insurance_arrears", {"months_overdue": 0}, 0),
    ("social_insurance_arrears", {"months_overdue": 1}, -10),
    ("social_insurance_arrears", {"months_overdue": 12}, -120),
    ("social_insurance_arrears", {"months_overdue": 13}, -120),
    ("wage_arrears", {"workers_affected": 40}, -100),
    ("list_entry", {"list": "serious_dishonesty"}, -300),
    ("list_entry", {"list": "key_attention"}, -100),
    ("list_entry", {"list": "red"}, 20),
    ("commitment_breach", {}, -50),
    ("commendation", {"level": "city"}, 10),
    ("commendation", {"level": "province"}, 20),
    ("commendation", {"level": "national"}, 40),
    ("commendation", {}, 10),  # no level: scored as city
]


@pytest.mark.parametrize(("kind", "fields", "effect"), EFFECTS, ids=lambda v: str(v)[:40])
def test_effect(kind: str, fields: dict[str, Any], effect: int) -> None:
    base = {k: v for k, v in make_event(kind).payload.model_dump().items() if v is not None}
    record = make_event(kind, {**base, **fields})
    state = build(ballast(), record)
    assert effects(state, DAY).get(str(record.event_id), 0) == effect
    assert effect_of(Record.from_event(record), C) == effect


def test_commendation_without_level_can_be_configured_out() -> None:
    config = ScorecardConfig(commendation_default_level=None)
    record = make_event("commendation", {"title": "T"})
    assert str(record.event_id) not in effects(build(ballast(), record), DAY, config)


def test_grades() -> None:
    cuts = [(1000, "A"), (900, "A"), (899, "B"), (800, "B"), (799, "C"), (650, "C"), (649, "D")]
    assert [grade_of(score, C) for score, _ in cuts] == [grade for _, grade in cuts]
    assert grade_of(0, C) == "D"
    assert grade_of(920, ScorecardConfig(grade_a_min=950, grade_b_min=900)) == "B"


def test_score_is_clamped_at_zero() -> None:
    events = [
        make_event("dishonest_debtor"),
        make_event("list_entry", {"list": "serious_dishonesty"}),
        make_event("list_entry", {"list": "key_attention"}),
        make_event("consumption_restriction"),
        make_event("wage_arrears"),
        make_event("social_insurance_arrears", {"amount_cny": 1, "months_overdue": 20}),
        make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 20}),
        make_event("penalty", {"decision_no": "D", "severity": "serious", "amount_cny": 1e7}),
        make_event("commendation", {"title": "T", "level": "national"}),
    ]
    result = evaluate(build(*events), at(DAY), C)
    assert (result.score, result.grade) == (0, "D")
    assert sum(r.effect for r in result.reasons) == -1090 + 40


# --- the bonus cap -------------------------------------------------------------------------


def test_bonus_cap_trims_the_latest_bonuses() -> None:
    listed = make_event("list_entry", {"list": "serious_dishonesty"})
    medals = [
        make_event("commendation", {"title": "T", "level": "national"}, at=d * DAY)
        for d in (1, 2, 3)
    ]
    result = evaluate(build(listed, *medals), at(5 * DAY), C)
    assert result.score == 1000 - 300 + 100
    assert [r.effect for r in result.reasons] == [-300, 40, 40, 20]
    assert sum(r.effect for r in result.reasons) == result.score - 1000


def test_bonuses_never_lift_a_score_above_1000() -> None:
    judgment = make_event("judgment", {"case_no": "C", "role": "defendant"})
    medal = make_event("commendation", {"title": "T", "level": "national"}, at=DAY)
    result = evaluate(build(judgment, medal), at(2 * DAY), C)
    assert result.score == 1000
    assert [r.effect for r in result.reasons] == [-30, 30]
    only_medal = evaluate(build(medal), at(2 * DAY), C)
    assert (only_medal.score, only_medal.reasons) == (1000, ())


def test_bonus_cap_is_configurable() -> None:
    listed = make_event("list_entry", {"list": "serious_dishonesty"})
    medal = make_event("commendation", {"title": "T", "level": "national"}, at=DAY)
    config = ScorecardConfig(bonus_cap=25)
    assert evaluate(build(listed, medal), at(2 * DAY), config).score == 725
    # a copy made without validation is a new config, not a stale cache entry
    assert (
        evaluate(build(listed, medal), at(2 * DAY), C.model_copy(update={"bonus_cap": 0})).score
        == 700
    )


# --- repairs ---------------------------------------------------------------------------------

REPAIRABLE = [
    ("penalty", {"decision_no": "D", "severity": "general"}, 90),
    ("penalty", {"decision_no": "D", "severity": "serious"}, 180),
    ("commitment_breach", {"commitment_no": "P"}, 90),
    ("judgment", {"case_no": "C", "role": "defendant"}, 0),
    ("judgment", {"case_no": "C", "role": "judgment_debtor"}, 0),
    ("dishonest_debtor", {"case_no": "C"}, 0),
    ("consumption_restriction", {"case_no": "C"}, 0),
    ("tax_arrears", {"amount_cny": 1, "months_overdue": 1}, 0),
    ("social_insurance_arrears", {"amount_cny": 1, "months_overdue": 1}, 0),
    ("wage_arrears", {"amount_cny": 1, "workers_affected": 1}, 0),
    ("list_entry", {"list": "serious_dishonesty"}, 0),
    ("list_entry", {"list": "key_attention"}, 0),
]


def referring(kind: str, record: CreditEvent, offset: timedelta, **payload: str) -> CreditEvent:
    """A repair / objection of ``record``, by its subject, ``offset`` after it."""
    return make_event(
        kind,
        {"ref_event_id": str(record.event_id), **payload},
        at=record.occurred_at + offset,
        subject_id=record.subject.id,
        subject_type=record.subject.type,
    )


def repair_of(record: CreditEvent, offset: timedelta) -> CreditEvent:
    return referring("repair", record, offset)


@pytest.mark.parametrize(("kind", "payload", "days"), REPAIRABLE, ids=lambda v: str(v)[:40])
def test_repair_from_the_minimum_period(kind: str, payload: dict[str, Any], days: int) -> None:
    record = make_event(kind, payload)
    state = build(record)
    early = repair_of(record, days * DAY - MS)
    outcome = apply_event(state, early, C)
    assert isinstance(outcome, Rejected) and outcome.reason is Reason.REPAIR_TOO_EARLY
    repair = repair_of(record, days * DAY)
    assert apply_event(state, repair, C) == Applied()
    assert counts(state, record, days * DAY - MS) == (days > 0)
    assert not counts(state, record, days * DAY)
    assert not counts(state, record, YEARS_10 * DAY)


NOT_REPAIRABLE = [
    ("penalty", {"decision_no": "D", "severity": "simple"}),
    ("judgment", {"case_no": "C", "role": "plaintiff"}),
    ("list_entry", {"list": "red"}),
    ("commendation", {"title": "T", "level": "city"}),
    ("commendation", {"title": "T"}),
    ("license", {"licence_no": "L"}),
    ("commitment", {"commitment_no": "P"}),
    ("list_exit", {"list": "serious_dishonesty"}),
    ("arrears_cleared", {"ref_kind": "tax_arrears"}),
]


@pytest.mark.parametrize(("kind", "payload"), NOT_REPAIRABLE, ids=lambda v: str(v)[:40])
def test_records_that_cannot_be_repaired(kind: str, payload: dict[str, Any]) -> None:
    record = make_event(kind, payload)
    state = build(record)
    outcome = apply_event(state, repair_of(record, YEARS_10 * DAY), C)
    assert isinstance(outcome, Rejected)
    assert outcome.reason is Reason.REPAIR_TOO_EARLY
    assert "cannot be repaired" in outcome.detail


def test_unknown_references() -> None:
    penalty = make_event("penalty")
    state = build(penalty)
    repair = repair_of(penalty, 100 * DAY)
    assert apply_event(state, repair, C) == Applied()
    cases = [
        make_event("repair", {"ref_event_id": str(uuid4())}, at=DAY),
        make_event("objection", {"ref_event_id": str(uuid4()), "status": "upheld"}, at=DAY),
        repair_of(repair, DAY),  # a repair of a repair
        make_event("objection", {"ref_event_id": str(repair.event_id), "status": "upheld"}),
    ]
    for event in cases:
        outcome = apply_event(state, event, C)
        assert isinstance(outcome, Rejected) and outcome.reason is Reason.UNKNOWN_REFERENCE
    other = "91371102AY4CL12T2Q"
    other_subject = build(make_event("penalty", subject_id=other))
    payload = {"ref_event_id": str(penalty.event_id)}
    outcome = apply_event(other_subject, make_event("repair", payload, subject_id=other), C)
    assert isinstance(outcome, Rejected) and outcome.reason is Reason.UNKNOWN_REFERENCE


def test_a_repair_that_overtakes_its_record_is_applied_when_the_record_arrives() -> None:
    penalty = make_event("penalty", {"decision_no": "D-1", "severity": "general"})
    repair = repair_of(penalty, 100 * DAY)
    state = EntityState.for_event(penalty)
    parked = apply_event(state, repair, C, memo="m")
    assert isinstance(parked, Rejected) and parked.reason is Reason.UNKNOWN_REFERENCE
    assert apply_event(state, repair, C) == Duplicate()  # a repeat while it waits
    assert len(state.parked) == 1
    outcome = apply_event(state, penalty, C)
    assert isinstance(outcome, Applied)
    assert [(r.record.event_id, r.memo, r.outcome) for r in outcome.released] == [
        (str(repair.event_id), "m", Applied())
    ]
    assert apply_event(state, repair, C) == Duplicate()  # and after its release
    assert state.rejected_ids == () and state.parked == ()
    in_order = build(penalty, repair)
    assert state.records == in_order.records
    assert evaluate(state, at(200 * DAY), C) == evaluate(in_order, at(200 * DAY), C)


def test_a_released_repair_that_is_too_early_stays_rejected() -> None:
    penalty = make_event("penalty", {"decision_no": "D-1", "severity": "general"})
    early_repair = repair_of(penalty, 10 * DAY)
    state = EntityState.for_event(penalty)
    assert isinstance(apply_event(state, early_repair, C), Rejected)
    outcome = apply_event(state, penalty, C)
    assert isinstance(outcome, Applied)
    (late,) = outcome.released
    assert isinstance(late.outcome, Rejected)
    assert late.outcome.reason is Reason.REPAIR_TOO_EARLY
    again = apply_event(state, early_repair, C)
    assert isinstance(again, Rejected) and again.reason is Reason.REPAIR_TOO_EARLY
    assert state.rejected_ids == (str(early_repair.event_id),)
    assert counts(state, penalty, 200 * DAY)


# --- objections ------------------------------------------------------------------------------


def objection_of(record: CreditEvent, offset: timedelta, status: str = "upheld") -> CreditEvent:
    return referring("objection", record, offset, status=status)


def test_upheld_objection_voids_from_its_date() -> None:
    penalty = make_event("penalty")
    state = build(penalty, objection_of(penalty, 10 * DAY))
    assert counts(state, penalty, 10 * DAY - MS)  # what was published before stays true
    assert not counts(state, penalty, 10 * DAY)
    assert not counts(state, penalty, 20 * DAY)


def test_objection_dated_before_its_record() -> None:
    penalty = make_event("penalty", at=10 * DAY)
    state = build(penalty, objection_of(penalty, -5 * DAY))
    assert not counts(state, penalty, 10 * DAY)


@pytest.mark.parametrize("status", ["filed", "rejected"])
def test_objection_not_upheld_changes_nothing(status: str) -> None:
    penalty = make_event("penalty")
    state = build(penalty, objection_of(penalty, DAY, status))
    assert counts(state, penalty, 30 * DAY)


def test_voiding_a_later_arrears_report_brings_back_the_earlier() -> None:
    first = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 3})
    later = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 9}, at=30 * DAY)
    voided = build(first, later, objection_of(later, 10 * DAY))
    assert effects(voided, 35 * DAY) == {str(later.event_id): -60}
    assert effects(voided, 40 * DAY) == {str(first.event_id): -40}
    repaired = build(first, later, repair_of(later, 10 * DAY))  # a repair does not
    assert effects(repaired, 40 * DAY) == {}


def test_voiding_an_exit_or_a_clearing_restores_what_it_ended() -> None:
    entry = make_event("list_entry", {"list": "key_attention"})
    exit_ = make_event("list_exit", {"list": "key_attention"}, at=10 * DAY)
    arrears = make_event("wage_arrears")
    cleared = make_event("arrears_cleared", {"ref_kind": "wage_arrears"}, at=10 * DAY)
    state = build(entry, exit_, arrears, cleared, objection_of(exit_, 10 * DAY))
    state_2 = build(arrears, cleared, objection_of(cleared, 10 * DAY))
    assert not counts(state, entry, 15 * DAY)
    assert counts(state, entry, 20 * DAY)
    assert not counts(state_2, arrears, 15 * DAY)
    assert counts(state_2, arrears, 20 * DAY)


# --- arrears and lists -----------------------------------------------------------------------


def test_only_the_latest_arrears_report_counts() -> None:
    first = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 3})
    later = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 0}, at=10 * DAY)
    wage = make_event("wage_arrears", at=5 * DAY)
    state = build(first, later, wage)
    assert effects(state, 5 * DAY) == {str(first.event_id): -40, str(wage.event_id): -100}
    assert effects(state, 10 * DAY) == {str(later.event_id): -30, str(wage.event_id): -100}


def test_arrears_reports_at_the_same_moment_ranked_by_event_id() -> None:
    low = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 3}, event_id=f"{0:032x}")
    high = make_event("tax_arrears", {"amount_cny": 1, "months_overdue": 9}, event_id=f"{1:032x}")
    assert set(effects(build(high, low), DAY)) == {str(high.event_id)}


def test_arrears_cleared() -> None:
    report = make_event("social_insurance_arrears", {"amount_cny": 1, "months_overdue": 2}, at=DAY)

    def cleared(kind: str, offset: timedelta) -> CreditEvent:
        return make_event("arrears_cleared", {"ref_kind": kind}, at=offset)

    kind = "social_insurance_arrears"
    assert not counts(build(report, cleared(kind, 20 * DAY)), report, 20 * DAY)
    assert counts(build(report, cleared(kind, 20 * DAY)), report, 20 * DAY - MS)
    assert not counts(build(report, cleared(kind, DAY)), report, DAY)  # at the same moment
    assert counts(build(report, cleared(kind, timedelta(0))), report, 2 * DAY)  # before it
    assert counts(build(report, cleared("tax_arrears", 2 * DAY)), report, 3 * DAY)
    again = make_event(
        "social_insurance_arrears", {"amount_cny": 1, "months_overdue": 1}, at=30 * DAY
    )
    state = build(report, cleared(kind, 20 * DAY), again)
    assert effects(state, 30 * DAY) == {str(again.event_id): -10}


def test_list_exit() -> None:
    entry = make_event("list_entry", {"list": "serious_dishonesty"}, at=10 * DAY)

    def exit_(name: str, offset: timedelta) -> CreditEvent:
        return make_event("list_exit", {"list": name}, at=offset)

    assert not counts(build(entry, exit_("serious_dishonesty", 50 * DAY)), entry, 50 * DAY)
    assert counts(build(entry, exit_("serious_dishonesty", 50 * DAY)), entry, 50 * DAY - MS)
    assert not counts(build(entry, exit_("serious_dishonesty", 10 * DAY)), entry, 10 * DAY)
    assert counts(build(entry, exit_("serious_dishonesty", 5 * DAY)), entry, 20 * DAY)
    assert counts(build(entry, exit_("key_attention", 20 * DAY)), entry, 30 * DAY)
    again = make_event("list_entry", {"list": "serious_dishonesty"}, at=60 * DAY)
    state = build(entry, exit_("serious_dishonesty", 50 * DAY), again)
    assert effects(state, 60 * DAY) == {str(again.event_id): -300}


# --- next_change_at --------------------------------------------------------------------------


def test_next_change_at() -> None:
    penalty = make_event("penalty")
    breach = make_event("commitment_breach", at=10 * DAY)
    state = build(penalty, breach, make_event("dishonest_debtor"))
    assert evaluate(state, at(20 * DAY), C).next_change_at == at(365 * DAY)
    assert evaluate(state, at(366 * DAY), C).next_change_at == at(375 * DAY)
    assert evaluate(state, at(400 * DAY), C).next_change_at is None
    assert evaluate(state, at(-2 * DAY), C).next_change_at == at(timedelta(0))  # known, later
    state_2 = build(penalty, repair_of(penalty, 100 * DAY))
    assert evaluate(state_2, at(200 * DAY), C).next_change_at is None


# --- state keeping ---------------------------------------------------------------------------


def test_profile_follows_the_latest_report_whatever_the_order() -> None:
    old = make_event("license", name="旧名称", sector="finance", reported_after=DAY)
    new = make_event("license", at=-DAY, name="", sector="taxation", reported_after=5 * DAY)
    for order in ((old, new), (new, old)):
        state = build(*order)
        assert (state.subject_name, state.sector) == ("旧名称", "taxation")


def test_an_event_of_another_subject_is_a_bug() -> None:
    state = build(make_event("license"))
    with pytest.raises(ValueError, match="another subject"):
        apply_event(state, make_event("license", subject_id="91371102AY4CL12T2Q"), C)


# --- configuration ---------------------------------------------------------------------------


def test_defaults_are_domain_tables() -> None:
    assert C.bonus_cap == 100
    assert (C.grade_a_min, C.grade_b_min, C.grade_c_min) == (900, 800, 650)
    assert C.publicity_days["list_entry.key_attention"] == 365
    assert C.publicity_days["dishonest_debtor"] is None
    assert "penalty.simple" not in C.publicity_days
    assert C.repair_after_days["penalty.serious"] == 180
    assert "list_entry.red" not in C.repair_after_days


@pytest.mark.parametrize(
    "fields",
    [
        {"grade_b_min": 950},
        {"bonuses": {"penalty.general": 5}},
        {"deductions": {"tax_arrears": 10}},
        {"deductions": {"penalty.bogus": 10}},
        {"surprise": 1},
    ],
)
def test_invalid_configs(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ScorecardConfig(**fields)


def test_load_scorecard_merges_json_and_toml(tmp_path: Any) -> None:
    as_json = tmp_path / "card.json"
    as_json.write_text(
        json.dumps(
            {"deductions": {"penalty.general": 35}, "publicity_days": {"penalty.general": None}}
        )
    )
    as_toml = tmp_path / "card.toml"
    as_toml.write_text('bonus_cap = 60\n[deductions]\n"penalty.general" = 35\n')
    for path in (as_json, as_toml):
        config = load_scorecard(path)
        assert config.deductions["penalty.general"] == 35
        assert config.deductions["penalty.serious"] == 60
    assert load_scorecard(as_toml).bonus_cap == 60
    penalty = make_event("penalty")
    assert effects(build(penalty), YEARS_10 * DAY, load_scorecard(as_json)) == {
        str(penalty.event_id): -35
    }


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.json", None, "No such file"),
        ("card.yaml", "a: 1", "expected a .json or .toml"),
        ("card.json", "{oops", "not valid json"),
        ("card.toml", "= 1", "not valid toml"),
        ("card.json", "[1, 2]", "expected a table"),
        ("card.json", '{"deductions": {"penalty.bogus": 1}}', "deductions.penalty.bogus"),
        ("card.json", '{"grade_a_min": 100}', "grade minimums must fall"),
    ],
)
def test_load_scorecard_errors(tmp_path: Any, name: str, text: str | None, message: str) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigurationError, match=message) as error:
        load_scorecard(path)
    assert "\n" not in str(error.value)


# --- properties ------------------------------------------------------------------------------

times = st.integers(-30, 7 * 365).map(lambda days: at(days * DAY))


@PROPERTY
@given(events_for_subject(max_size=15), times)
def test_score_is_bounded_and_explained(events: list[CreditEvent], as_of: int) -> None:
    state = apply_all(events, events[0])
    result = evaluate(state, as_of, C)
    assert 0 <= result.score <= 1000
    assert result.grade == grade_of(result.score, C)
    total = sum(reason.effect for reason in result.reasons)
    assert total == result.score - 1000 if result.score else total <= -1000
    assert all(reason.effect for reason in result.reasons)
    order = [record.event_id for record in state.records]
    positions = [order.index(reason.event_id) for reason in result.reasons]
    assert positions == sorted(positions)
    if result.next_change_at is not None:  # nothing changes before it
        assert result.next_change_at > as_of
        assert evaluate(state, result.next_change_at - 1, C)[:3] == result[:3]


@PROPERTY
@given(st.data())
def test_arrival_order_does_not_matter(data: st.DataObject) -> None:
    events = data.draw(events_for_subject(max_size=15))
    shuffled = data.draw(arrival_orders(events))
    first, second = apply_all(events, events[0]), apply_all(shuffled, events[0])
    assert first == second
    as_of = data.draw(times)
    assert evaluate(first, as_of, C) == evaluate(second, as_of, C)


@PROPERTY
@given(events_for_subject(max_size=15))
def test_applying_twice_changes_nothing(events: list[CreditEvent]) -> None:
    once = apply_all(events, events[0])
    before = once.to_json()
    for event in events:
        outcome = apply_event(once, event, C)
        event_id = str(event.event_id)
        waiting = any(p.record.event_id == event_id for p in once.parked)
        if once.find(event_id) is not None or waiting:
            assert outcome == Duplicate()
        else:  # a repeated rejected event is rejected again, nothing else happens
            assert isinstance(outcome, Rejected)
    assert once.to_json() == before
    assert apply_all([e for event in events for e in (event, event)], events[0]) == once


@PROPERTY
@given(st.data())
def test_upheld_objection_restores_the_score_without_the_record(data: st.DataObject) -> None:
    events = data.draw(events_for_subject(max_size=12))
    record = data.draw(st.sampled_from([e for e in events if e.kind not in REFERRING]))
    objection = objection_of(record, data.draw(st.integers(-30, 800)) * DAY)
    with_objection = apply_all([*events, objection], record)
    without = apply_all([e for e in events if e is not record], record)
    latest = max(e.occurred_at for e in [*events, objection])
    as_of = at(latest - T0) + data.draw(st.integers(0, 400)) * 86_400_000
    assert evaluate(with_objection, as_of, C) == evaluate(without, as_of, C)


def _superseded_by(record: CreditEvent, events: list[CreditEvent]) -> set[int]:
    """Ids (by identity) of earlier reports of the same arrears kind: ``record`` ends them."""
    key = (record.occurred_at, str(record.event_id))
    return {
        id(e)
        for e in events
        if e.kind == record.kind
        and e.kind.endswith("_arrears")
        and (e.occurred_at, str(e.event_id)) < key
    }


@PROPERTY
@given(st.data())
def test_allowed_repair_restores_the_score_without_the_record(data: st.DataObject) -> None:
    events = data.draw(events_for_subject(min_size=2, max_size=12))
    classes = {id(e): _class_of(e) for e in events}
    repairable = [e for e in events if classes[id(e)] in C.repair_after_days]
    assume(repairable)
    record = data.draw(st.sampled_from(repairable))
    voiding = [e for e in events if e.kind == "objection" and e.payload.status == "upheld"]
    assume(all(str(e.payload.ref_event_id) != str(record.event_id) for e in voiding))
    minimum = C.repair_after_days[classes[id(record)]]
    repair = repair_of(record, (minimum + data.draw(st.integers(0, 800))) * DAY)
    with_repair = apply_all(events, record)
    assert apply_event(with_repair, repair, C) == Applied()
    gone = {id(record)} | _superseded_by(record, events)
    without = apply_all([e for e in events if id(e) not in gone], record)
    latest = max(e.occurred_at for e in [*events, repair])
    as_of = at(latest - T0) + data.draw(st.integers(0, 400)) * 86_400_000
    assert evaluate(with_repair, as_of, C) == evaluate(without, as_of, C)


def _class_of(event: CreditEvent) -> str:
    record = Record.from_event(event)
    return record.kind if record.label is None else f"{record.kind}.{record.label}"
