"""Builders and hypothesis strategies for valid credit events of one subject.

Every event is built from a wire-shaped dict through the real validator
(``EVENT_ADAPTER`` with :data:`TEST_CONTEXT`), so what the tests apply is what the
stream would have parsed. Persons get a random valid resident id that the
validator pseudonymises with the test key.

* :func:`make_event` builds one event by hand (table-driven tests).
* :func:`events_for_subject` draws a history for one subject: every kind, repairs
  and objections referencing earlier events (sometimes too early, sometimes a
  repair of a repair, so rejections are exercised too), in a valid arrival order.
* :func:`arrival_orders` redraws the arrival order of such a history, keeping
  every repair / objection after the event it references.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import strategies as st

from creditbrain.schemas.events import EVENT_ADAPTER, KINDS, CreditEvent, ParseContext, SubjectType
from creditbrain.schemas.identifiers import generate_credit_code, generate_resident_id
from creditbrain.schemas.reference import DISTRICTS, SECTORS

TEST_CONTEXT = ParseContext(pseudonym_key=b"test-pseudonym-key", accept_pseudonyms=True)
ENTERPRISE_ID = "91350100M000100Y43"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
REFERRING = ("repair", "objection")
RECORD_KINDS = tuple(kind for kind in KINDS if kind not in REFERRING)


def make_event(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime | timedelta = T0,
    event_id: UUID | str | None = None,
    subject_id: str = ENTERPRISE_ID,
    subject_type: SubjectType | str = SubjectType.ENTERPRISE,
    name: str = "日照某某建材有限公司",
    sector: str = "market_regulation",
    district: str = "371102",
    reported_after: timedelta = timedelta(0),
) -> CreditEvent:
    """One valid event; ``at`` is a datetime or an offset from :data:`T0`.

    ``payload`` defaults to the minimal valid payload of ``kind``.
    """
    occurred = T0 + at if isinstance(at, timedelta) else at
    return EVENT_ADAPTER.validate_python(
        {
            "schema_version": 1,
            "event_id": str(event_id or uuid4()),
            "kind": kind,
            "subject": {"type": str(subject_type), "id": subject_id, "name": name},
            "source": "test",
            "sector": sector,
            "district": district,
            "occurred_at": occurred,
            "reported_at": occurred + reported_after,
            "payload": minimal_payload(kind) if payload is None else payload,
        },
        context=TEST_CONTEXT,
    )


def minimal_payload(kind: str) -> dict[str, Any]:
    """The required payload fields of ``kind`` with plain values."""
    return {
        "penalty": {"decision_no": "D-1", "severity": "general"},
        "judgment": {"case_no": "C-1", "role": "defendant"},
        "dishonest_debtor": {"case_no": "C-1"},
        "consumption_restriction": {"case_no": "C-1"},
        "tax_arrears": {"amount_cny": 1000, "months_overdue": 1},
        "social_insurance_arrears": {"amount_cny": 1000, "months_overdue": 1},
        "wage_arrears": {"amount_cny": 1000, "workers_affected": 1},
        "arrears_cleared": {"ref_kind": "tax_arrears"},
        "license": {"licence_no": "L-1"},
        "commendation": {"title": "诚信企业", "level": "city"},
        "commitment": {"commitment_no": "P-1"},
        "commitment_breach": {"commitment_no": "P-1"},
        "list_entry": {"list": "serious_dishonesty"},
        "list_exit": {"list": "serious_dishonesty"},
        "repair": {"ref_event_id": str(uuid4())},
        "objection": {"ref_event_id": str(uuid4()), "status": "upheld"},
    }[kind]


_amounts = st.one_of(st.integers(0, 2_000_000), st.floats(0, 2_000_000, allow_nan=False))
_months = st.integers(0, 40)
_ARREARS_KINDS = ("tax_arrears", "social_insurance_arrears", "wage_arrears")
_LISTS = ("serious_dishonesty", "key_attention", "red")


def payloads(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid payloads of a kind other than repair / objection."""
    optional_amount = st.none() | _amounts
    strategies: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "penalty": st.fixed_dictionaries(
            {
                "decision_no": st.just("D-1"),
                "severity": st.sampled_from(["simple", "general", "serious"]),
            },
            optional={"amount_cny": optional_amount},
        ),
        "judgment": st.fixed_dictionaries(
            {
                "case_no": st.just("C-1"),
                "role": st.sampled_from(["defendant", "plaintiff", "judgment_debtor"]),
            },
            optional={"amount_cny": optional_amount},
        ),
        "dishonest_debtor": st.fixed_dictionaries(
            {"case_no": st.just("C-1")}, optional={"amount_cny": optional_amount}
        ),
        "consumption_restriction": st.just({"case_no": "C-1"}),
        "tax_arrears": st.fixed_dictionaries({"amount_cny": _amounts, "months_overdue": _months}),
        "social_insurance_arrears": st.fixed_dictionaries(
            {"amount_cny": _amounts, "months_overdue": _months}
        ),
        "wage_arrears": st.fixed_dictionaries(
            {"amount_cny": _amounts, "workers_affected": st.integers(0, 500)}
        ),
        "arrears_cleared": st.fixed_dictionaries({"ref_kind": st.sampled_from(_ARREARS_KINDS)}),
        "license": st.just({"licence_no": "L-1"}),
        "commendation": st.fixed_dictionaries(
            {"title": st.just("诚信企业")},
            optional={"level": st.sampled_from(["city", "province", "national"])},
        ),
        "commitment": st.just({"commitment_no": "P-1"}),
        "commitment_breach": st.just({"commitment_no": "P-1"}),
        "list_entry": st.fixed_dictionaries({"list": st.sampled_from(_LISTS)}),
        "list_exit": st.fixed_dictionaries({"list": st.sampled_from(_LISTS)}),
    }
    return strategies[kind]


@st.composite
def subject_ids(draw: st.DrawFn, subject_type: SubjectType) -> str:
    """A valid clear identifier: resident id for persons, else a credit code."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    district = draw(st.sampled_from(sorted(DISTRICTS)))
    if subject_type is SubjectType.PERSON:
        return generate_resident_id(rng, district)
    return generate_credit_code(rng, district)


@st.composite
def events_for_subject(
    draw: st.DrawFn,
    subject_type: SubjectType | None = None,
    min_size: int = 1,
    max_size: int = 12,
    kinds: Sequence[str] = KINDS,
    span: timedelta = 6 * 365 * DAY,
) -> list[CreditEvent]:
    """A history of one subject, in an arrival order that is valid for references.

    Parameters
    ----------
    subject_type
        Drawn when ``None``.
    min_size, max_size
        Number of events.
    kinds
        Kinds to draw from; ``repair`` / ``objection`` only once an event exists
        to reference (any earlier event, so also other repairs and objections).
    span
        Record times fall in ``[T0, T0 + span)``; a repair or objection falls between
        30 days before and 800 days after the event it references.
    """
    stype = draw(st.sampled_from(SubjectType)) if subject_type is None else subject_type
    clear_id = draw(subject_ids(stype))
    size = draw(st.integers(min_size, max_size))
    ids = draw(st.lists(st.uuids(), min_size=size, max_size=size, unique=True))
    plain = [kind for kind in kinds if kind not in REFERRING] or list(RECORD_KINDS)
    events: list[CreditEvent] = []
    for event_id in ids:
        kind = draw(st.sampled_from(kinds if events else plain))
        if kind in REFERRING:
            target = draw(st.sampled_from(events))
            occurred = target.occurred_at + draw(st.integers(-30, 800)) * DAY
            occurred += draw(st.integers(0, 86_399_999)) * timedelta(milliseconds=1)
            payload: dict[str, Any] = {"ref_event_id": str(target.event_id)}
            if kind == "objection":
                payload["status"] = draw(st.sampled_from(["filed", "upheld", "rejected"]))
        else:
            occurred = T0 + draw(st.integers(0, span // timedelta(milliseconds=1) - 1)) * (
                timedelta(milliseconds=1)
            )
            payload = draw(payloads(kind))
        events.append(
            make_event(
                kind,
                payload,
                at=occurred,
                event_id=event_id,
                subject_id=clear_id,
                subject_type=stype,
                name=draw(st.sampled_from(["", "甲公司", "乙公司"])),
                sector=draw(st.sampled_from(sorted(SECTORS))),
                district=draw(st.sampled_from(sorted(DISTRICTS))),
                reported_after=draw(st.integers(0, 30)) * DAY,
            )
        )
    return events


def _reference_of(event: CreditEvent) -> str | None:
    ref = getattr(event.payload, "ref_event_id", None)
    return None if ref is None else str(ref)


@st.composite
def arrival_orders(draw: st.DrawFn, events: Sequence[CreditEvent]) -> list[CreditEvent]:
    """A permutation of ``events`` in which every repair / objection still follows its target."""
    shuffled = draw(st.permutations(list(events)))
    present = {str(event.event_id) for event in events}
    emitted: set[str] = set()
    waiting: dict[str, list[CreditEvent]] = {}
    order: list[CreditEvent] = []

    def emit(event: CreditEvent) -> None:
        order.append(event)
        emitted.add(str(event.event_id))
        for follower in waiting.pop(str(event.event_id), []):
            emit(follower)

    for event in shuffled:
        ref = _reference_of(event)
        if ref is not None and ref in present and ref not in emitted:
            waiting.setdefault(ref, []).append(event)
        else:
            emit(event)
    return order
