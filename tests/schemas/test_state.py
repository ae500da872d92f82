"""The per-subject state: records, idempotency keys, profile, JSON form, public score."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditbrain.core.eventtime import from_epoch_ms, to_epoch_ms
from creditbrain.models.scorecard import DEFAULT_SCORECARD, apply_event, evaluate
from creditbrain.schemas.events import CreditEvent, SubjectType
from creditbrain.schemas.state import EntityState, Record, ScoreReason, ScoreResult, SubjectScore
from tests.strategies import DAY, T0, events_for_subject, make_event

CODE = "91350100M000100Y43"
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=offsets)


@given(moments)
def test_epoch_ms_is_exact(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    expected = calendar.timegm(utc.timetuple()) * 1000 + utc.microsecond // 1000
    assert to_epoch_ms(moment) == expected
    assert from_epoch_ms(expected) == utc.replace(microsecond=utc.microsecond // 1000 * 1000)


FROM_EVENT = [
    (
        "penalty",
        {"decision_no": "D", "severity": "serious", "amount_cny": 5.5},
        ("serious", 5.5, None, None),
    ),
    ("judgment", {"case_no": "C", "role": "plaintiff"}, ("plaintiff", None, None, None)),
    ("dishonest_debtor", {"case_no": "C", "amount_cny": 7}, (None, 7, None, None)),
    ("consumption_restriction", {"case_no": "C"}, (None, None, None, None)),
    ("tax_arrears", {"amount_cny": 9, "months_overdue": 4}, (None, 9, 4, None)),
    (
        "social_insurance_arrears",
        {"amount_cny": 9, "months_overdue": 2, "employees_affected": 30},
        (None, 9, 2, None),
    ),
    ("wage_arrears", {"amount_cny": 9, "workers_affected": 12}, (None, 9, 12, None)),
    ("arrears_cleared", {"ref_kind": "wage_arrears"}, ("wage_arrears", None, None, None)),
    ("license", {"licence_no": "L"}, (None, None, None, None)),
    ("commendation", {"title": "T", "level": "national"}, ("national", None, None, None)),
    ("commendation", {"title": "T"}, (None, None, None, None)),
    ("commitment", {"commitment_no": "P"}, (None, None, None, None)),
    ("commitment_breach", {"commitment_no": "P"}, (None, None, None, None)),
    ("list_entry", {"list": "red"}, ("red", None, None, None)),
    ("list_exit", {"list": "key_attention"}, ("key_attention", None, None, None)),
    (
        "repair",
        {"ref_event_id": f"{7:032x}"},
        (None, None, None, f"{0:08x}-0000-0000-0000-{7:012x}"),
    ),
    (
        "objection",
        {"ref_event_id": f"{7:032x}", "status": "filed"},
        ("filed", None, None, f"{0:08x}-0000-0000-0000-{7:012x}"),
    ),
]


@pytest.mark.parametrize(("kind", "payload", "fields"), FROM_EVENT, ids=lambda v: str(v)[:30])
def test_record_from_event(kind: str, payload: dict[str, Any], fields: tuple[Any, ...]) -> None:
    event = make_event(kind, payload, at=timedelta(milliseconds=1))
    record = Record.from_event(event)
    assert record == (to_epoch_ms(T0) + 1, str(event.event_id), kind, *fields)
    assert type(record.label) in (str, type(None))  # enum labels stored as plain strings


def test_record_properties_read_by_kind() -> None:
    penalty = Record(0, "e", "penalty", "general", 10)
    assert (penalty.severity, penalty.role, penalty.level, penalty.status) == (
        "general",
        None,
        None,
        None,
    )
    tax = Record(0, "e", "tax_arrears", None, 10, 4)
    assert (tax.months_overdue, tax.workers_affected) == (4, None)
    wage = Record(0, "e", "wage_arrears", None, 10, 12)
    assert (wage.months_overdue, wage.workers_affected) == (None, 12)
    assert Record(0, "e", "list_exit", "red").list_name == "red"
    assert Record(0, "e", "arrears_cleared", "tax_arrears").ref_kind == "tax_arrears"
    assert Record(0, "e", "objection", "upheld", None, None, "r").status == "upheld"
    assert Record(0, "e", "commendation", "city").level == "city"
    assert Record(0, "e", "judgment", "defendant").role == "defendant"


def test_records_stay_in_time_order_and_ids_are_known() -> None:
    state = EntityState(CODE, SubjectType.ENTERPRISE)
    for record in (Record(5, "c", "license"), Record(1, "z", "license"), Record(5, "a", "license")):
        state.add(record)
    assert [r.event_id for r in state.records] == ["z", "a", "c"]
    assert (state.version, state.last_event_at) == (3, 5)
    state.reject("y")
    state.reject("b")
    assert state.rejected_ids == ("b", "y")
    assert all(state.knows(i) for i in "zacby")
    assert not state.knows("q")
    assert state.find("a") == Record(5, "a", "license")
    assert state.find("b") is None  # rejected, not a record
    assert EntityState(CODE, SubjectType.ENTERPRISE).last_event_at is None


def test_profile_ties_are_broken_by_value() -> None:
    first = make_event("license", name="A 公司", district="371103")
    second = make_event("license", name="B 公司", district="371121")
    for order in ((first, second), (second, first)):
        state = EntityState.for_event(first)
        for event in order:
            state.update_profile(event)
        assert (state.subject_name, state.district) == ("B 公司", "371121")


def test_record_score() -> None:
    state = EntityState(CODE, SubjectType.ENTERPRISE)
    result = ScoreResult(870, "B", (ScoreReason("e", "penalty", -130),), 99)
    state.record_score(result, 42)
    assert (state.score, state.grade, state.reasons, state.as_of_ms, state.next_change_ms) == (
        870,
        "B",
        result.reasons,
        42,
        99,
    )


def scored(events: list[CreditEvent], as_of: int) -> EntityState:
    state = EntityState.for_event(events[0])
    for event in events:
        apply_event(state, event, DEFAULT_SCORECARD)
    state.record_score(evaluate(state, as_of, DEFAULT_SCORECARD), as_of)
    return state


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events_for_subject(max_size=15), st.integers(0, 7 * 365), st.booleans())
def test_json_round_trip(events: list[CreditEvent], days: int, score: bool) -> None:
    as_of = to_epoch_ms(T0 + days * DAY)
    state = scored(events, as_of) if score else EntityState.for_event(events[0])
    blob = state.to_json()
    back = EntityState.from_json(blob)
    assert back == state
    assert back.to_json() == blob
    assert evaluate(back, as_of, DEFAULT_SCORECARD) == evaluate(state, as_of, DEFAULT_SCORECARD)


def test_json_is_compact_and_shares_strings() -> None:
    events = [
        make_event("penalty", {"decision_no": "D", "severity": "general", "amount_cny": 120_000}),
        make_event("commendation", {"title": "T", "level": "city"}, at=DAY),
    ]
    state = scored(events, to_epoch_ms(T0 + 2 * DAY))
    blob = state.to_json()
    assert len(blob) < 600  # two records, two reasons, a 10-character name
    doc = json.loads(blob)
    assert set(doc) <= {
        "f",
        "i",
        "t",
        "n",
        "s",
        "d",
        "r",
        "v",
        "a",
        "x",
        "sc",
        "g",
        "rs",
        "nc",
        "nr",
        "pr",
    }
    one, two = EntityState.from_json(blob), EntityState.from_json(blob)
    assert one.records[0].kind is two.records[0].kind
    assert one.records[0].label is two.records[0].label
    assert one.sector is two.sector
    assert one.reasons[0].event_id is one.records[0].event_id


def test_from_json_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="format"):
        EntityState.from_json(b'{"f": 99}')


def test_subject_score_json_shape() -> None:
    state = EntityState("p:" + "0" * 32, SubjectType.PERSON)
    result = ScoreResult(900, "A", (ScoreReason("e1", "wage_arrears", -100),), None)
    public = json.loads(SubjectScore.of(state, result).model_dump_json())
    assert public == {
        "subject_id": "p:" + "0" * 32,
        "subject_type": "person",
        "score": 900,
        "grade": "A",
        "reasons": [{"event_id": "e1", "kind": "wage_arrears", "effect": -100}],
    }
    assert list(public) == ["subject_id", "subject_type", "score", "grade", "reasons"]
