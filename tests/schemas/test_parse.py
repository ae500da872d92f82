"""The single door: every kind of bad input gets its reason; valid events round-trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditbrain.schemas.events import KINDS, ParseContext, SubjectType, event_to_json
from creditbrain.schemas.identifiers import is_pseudonym, pseudonymise_person_id
from creditbrain.schemas.parse import DeadLetter, Reason, parse_event
from tests.strategies import make_event

CTX = ParseContext(pseudonym_key=b"test-key")
PERSON = "11010519491231002X"


def wire(**changes: object) -> dict:
    event = json.loads(
        event_to_json(
            make_event("penalty", {"decision_no": "D", "severity": "general", "amount_cny": 1000})
        )
    )
    event.update(changes)
    return event


def verdict(doc: object) -> Reason | None:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    result = parse_event(raw, CTX)
    return result.reason if isinstance(result, DeadLetter) else None


BAD = [
    (b"{not json", Reason.BAD_JSON),
    (b"[" * 5000, Reason.BAD_JSON),
    (b"x" * (1024 * 1024 + 1), Reason.TOO_LARGE),
    (wire(kind="gossip"), Reason.UNKNOWN_KIND),
    ({k: v for k, v in wire().items() if k != "source"}, Reason.MISSING_FIELD),
    ({k: v for k, v in wire().items() if k != "kind"}, Reason.MISSING_FIELD),
    (wire(event_id="not-a-uuid"), Reason.BAD_FIELD),
    (wire(occurred_at="yesterday"), Reason.BAD_FIELD),
    (wire(subject={"type": "enterprise", "id": "91350100M000100Y44"}), Reason.BAD_CREDIT_CODE),
    (wire(subject={"type": "person", "id": "110105194912310021"}), Reason.BAD_PERSON_ID),
    (wire(sector="piracy"), Reason.UNKNOWN_SECTOR),
    (wire(district="110101"), Reason.UNKNOWN_DISTRICT),
    (
        wire(payload={"decision_no": "D", "severity": "general", "amount_cny": -5}),
        Reason.NEGATIVE_AMOUNT,
    ),
    (wire(occurred_at="2030-01-01T00:00:00+08:00"), Reason.FUTURE_EVENT),
    # Not JSON numbers, though Python's json writes them: a wrong field, not a negative one.
    (
        json.dumps(
            wire(payload={"decision_no": "D", "severity": "general", "amount_cny": float("nan")})
        ).encode(),
        Reason.BAD_FIELD,
    ),
    (
        json.dumps(
            wire(payload={"decision_no": "D", "severity": "general", "amount_cny": float("-inf")})
        ).encode(),
        Reason.BAD_FIELD,
    ),
    (wire(sector="'; DROP TABLE events; --"), Reason.UNKNOWN_SECTOR),
    (
        wire(subject={"type": "enterprise", "id": "<script>alert(1)</script>"}),
        Reason.BAD_CREDIT_CODE,
    ),
]


@pytest.mark.parametrize(
    ("doc", "reason"), BAD, ids=[r.value + str(i) for i, (_, r) in enumerate(BAD)]
)
def test_each_bad_input_gets_its_reason(doc: object, reason: Reason) -> None:
    assert verdict(doc) is reason


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("subject_type", list(SubjectType))
def test_valid_events_round_trip_unchanged(kind: str, subject_type: SubjectType) -> None:
    subject_id = PERSON if subject_type is SubjectType.PERSON else "91350100M000100Y43"
    event = make_event("penalty", {"decision_no": "D", "severity": "general"})
    sent = json.loads(event_to_json(event))
    sent["kind"] = kind
    sent["payload"] = json.loads(event_to_json(make_event(kind)))["payload"]
    sent["subject"] = {"type": subject_type.value, "id": subject_id, "name": "某"}
    parsed = parse_event(json.dumps(sent).encode(), CTX)
    assert not isinstance(parsed, DeadLetter), parsed
    back = json.loads(event_to_json(parsed))
    if subject_type is SubjectType.PERSON:
        assert back["subject"]["id"] == pseudonymise_person_id(PERSON, CTX.pseudonym_key)
        sent["subject"]["id"] = back["subject"]["id"]
    assert back == sent
    again = parse_event(event_to_json(parsed), ParseContext(b"test-key", accept_pseudonyms=True))
    assert not isinstance(again, DeadLetter) and json.loads(event_to_json(again)) == back


def test_a_person_dead_letter_keeps_no_clear_id() -> None:
    letter = parse_event(
        json.dumps(wire(subject={"type": "person", "id": PERSON}, sector="nowhere")).encode(), CTX
    )
    assert isinstance(letter, DeadLetter) and PERSON.encode() not in letter.raw
    assert is_pseudonym(pseudonymise_person_id(PERSON, b"test-key"))


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse_event(raw, CTX), DeadLetter)
