"""A subject's ledger (信用档案) as the scorecard keeps it, and the score it publishes.

:class:`EntityState` is the scorecard's part of a subject: its profile, the records
applied, the events rejected or parked, the latest evaluation. The subject's open
warnings (:mod:`creditbrain.alerts`) and what the online models remember of it
(:mod:`creditbrain.models.features`) belong to their owners; the three are composed
into one record per subject (:class:`creditbrain.engine.subject.SubjectRecord`),
which the worker keeps in a Faust table (in memory, with a changelog in Kafka). It
is built for a million subjects in about a gigabyte: plain slotted objects instead
of pydantic models, one :class:`Record` tuple per applied event holding only what
the scorecard needs, strings shared between subjects wherever they come from a small
vocabulary, and a JSON form with short keys (:meth:`EntityState.to_json`) that
round-trips exactly.

Records are kept sorted by ``(occurred_at, event_id)``: the state after a set of
events does not depend on the order in which they arrived, which is what lets a
replay of history reproduce the live stream.

Times inside the state are integers, milliseconds since 1970-01-01 UTC
(:func:`to_epoch_ms`), so comparisons are exact and cheap.

:class:`ScoreResult` is what the scorecard computes (:mod:`creditbrain.models.scorecard`);
:class:`SubjectScore` is its public JSON shape for the API and the CLI.
"""

from __future__ import annotations

import sys
from bisect import insort
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import orjson
from pydantic import BaseModel, ConfigDict, Field

from creditbrain.schemas.events import KINDS, CreditEvent, SubjectType

Grade = Literal["A", "B", "C", "D"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

#: Version of the JSON form of :class:`EntityState` (key ``"f"``).
STATE_FORMAT = 1


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC of an aware datetime (sub-ms floored, also before 1970).

    Integer arithmetic on the timedelta, so the value is exact by construction;
    every time in the state and every "as of" should come from here.

    >>> to_epoch_ms(datetime.fromisoformat("2026-03-04T09:30:00.123+08:00"))
    1772587800123
    """
    return (moment - _EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    """The UTC datetime of an epoch-millisecond value.

    >>> from_epoch_ms(1772587800123).isoformat()
    '2026-03-04T01:30:00.123000+00:00'
    """
    return _EPOCH + timedelta(milliseconds=ms)


# The small vocabulary of kinds and labels: one shared string object each, whatever
# JSON document or event it was read from.
_VOCABULARY = (
    *KINDS,
    *("simple", "general", "serious", "defendant", "plaintiff", "judgment_debtor"),
    *("serious_dishonesty", "key_attention", "red", "city", "province", "national"),
    *("filed", "upheld", "rejected"),
)
_SHARED: dict[str, str] = {word: word for word in _VOCABULARY}
_SUBJECT_TYPES = {member.value: member for member in SubjectType}
_GRADES: dict[str, Grade] = {"A": "A", "B": "B", "C": "C", "D": "D"}

# Which payload attribute fills the generic slots of a Record, by kind.
_LABEL_FIELD = {
    "penalty": "severity",
    "judgment": "role",
    "arrears_cleared": "ref_kind",
    "commendation": "level",
    "list_entry": "list",
    "list_exit": "list",
    "objection": "status",
}
_AMOUNT_KINDS = frozenset(
    ("penalty", "judgment", "dishonest_debtor")
    + ("tax_arrears", "social_insurance_arrears", "wage_arrears")
)
_REFERRING_KINDS = frozenset({"repair", "objection"})
# Hot paths build tuples without the Python-level __new__ of NamedTuple (half the cost);
# getattr(model, name, default) is avoided too: on a pydantic model a miss raises inside.
_new_tuple = tuple.__new__
_QUANTITY_FIELD = {
    "tax_arrears": "months_overdue",
    "social_insurance_arrears": "months_overdue",
    "wage_arrears": "workers_affected",
}


class Record(NamedTuple):
    """What the scorecard keeps of one applied event.

    A tuple whose first two fields are ``occurred_at`` and ``event_id``, so records
    sort chronologically by plain comparison. The attributes that matter share
    three generic slots; the named properties below read them by kind.

    Parameters
    ----------
    occurred_at
        Event time, epoch milliseconds UTC.
    event_id
        The event's UUID as a string.
    kind
        The event kind.
    label
        The one categorical attribute of the kind: penalty ``severity``, judgment
        ``role``, ``list`` name of list entries and exits, commendation ``level``,
        ``ref_kind`` of arrears_cleared, objection ``status``.
    amount_cny
        The amount, for the kinds that carry one.
    quantity
        ``months_overdue`` of tax and social-insurance arrears, ``workers_affected``
        of wage arrears.
    ref_event_id
        The record a repair or objection refers to.

    Examples
    --------
    >>> r = Record(1772587800000, "e1", "penalty", "serious", 250_000)
    >>> r.severity, r.amount_cny, r.role
    ('serious', 250000, None)
    """

    occurred_at: int
    event_id: str
    kind: str
    label: str | None = None
    amount_cny: int | float | None = None
    quantity: int | None = None
    ref_event_id: str | None = None

    @classmethod
    def from_event(cls, event: CreditEvent) -> Record:
        """The record of a parsed event."""
        kind = event.kind
        # Any: the kind tables above say which fields this kind's payload has.
        payload: Any = event.payload
        label_field = _LABEL_FIELD.get(kind)
        quantity_field = _QUANTITY_FIELD.get(kind)
        label = None
        if label_field is not None:
            value = getattr(payload, label_field)
            if value is not None:
                value = str(value)  # StrEnum labels (penalty severity) become plain strings
                label = _SHARED.get(value, value)
        return _new_tuple(
            cls,
            (
                to_epoch_ms(event.occurred_at),
                str(event.event_id),
                _SHARED.get(kind, kind),
                label,
                payload.amount_cny if kind in _AMOUNT_KINDS else None,
                getattr(payload, quantity_field) if quantity_field else None,
                str(payload.ref_event_id) if kind in _REFERRING_KINDS else None,
            ),
        )

    @property
    def severity(self) -> str | None:
        """Penalty severity: ``simple``, ``general`` or ``serious``."""
        return self.label if self.kind == "penalty" else None

    @property
    def role(self) -> str | None:
        """The subject's role in a judgment."""
        return self.label if self.kind == "judgment" else None

    @property
    def list_name(self) -> str | None:
        """The list a list_entry / list_exit is about."""
        return self.label if self.kind in ("list_entry", "list_exit") else None

    @property
    def level(self) -> str | None:
        """Commendation level (``None`` when the department gave none)."""
        return self.label if self.kind == "commendation" else None

    @property
    def ref_kind(self) -> str | None:
        """The arrears kind an ``arrears_cleared`` clears."""
        return self.label if self.kind == "arrears_cleared" else None

    @property
    def status(self) -> str | None:
        """Objection status: ``filed``, ``upheld`` or ``rejected``."""
        return self.label if self.kind == "objection" else None

    @property
    def months_overdue(self) -> int | None:
        """Months overdue of tax or social-insurance arrears."""
        return self.quantity if self.kind in ("tax_arrears", "social_insurance_arrears") else None

    @property
    def workers_affected(self) -> int | None:
        """Workers owed wages."""
        return self.quantity if self.kind == "wage_arrears" else None


class ScoreReason(NamedTuple):
    """One record's contribution to a score: negative deductions, positive bonuses."""

    event_id: str
    kind: str
    effect: int


class ScoreResult(NamedTuple):
    """A score as of one moment, with everything needed to explain and refresh it.

    Parameters
    ----------
    score
        0..1000.
    grade
        ``A`` / ``B`` / ``C`` / ``D``.
    reasons
        The counting records with a nonzero effect, by ``(occurred_at, event_id)``.
    next_change_at
        The earliest moment after the evaluation at which the result may change
        without a new event (a publicity period ends, or an already applied record
        dated later starts to count); ``None`` when nothing is pending.
    """

    score: int
    grade: Grade
    reasons: tuple[ScoreReason, ...]
    next_change_at: int | None = None


class Parked(NamedTuple):
    """A repair or objection held back because the record it names has not arrived yet.

    Input topics are consumed independently, so a repair can overtake the record it
    repairs. It is dead-lettered as ``unknown_reference`` at once (the contract's
    verdict for what is known so far) and kept here; if the record arrives later,
    the repair is applied after all and its dead letter is resolved. ``memo`` is
    whatever the caller needs to re-emit the event then (opaque to the state).
    """

    record: Record
    memo: str = ""


@dataclass(slots=True)
class EntityState:
    """Everything the stream remembers about one subject.

    Parameters
    ----------
    subject_id
        Credit code, or the pseudonym of a person.
    subject_type
        Latest reported type.
    subject_name, sector, district
        Latest reported (see :meth:`update_profile`).
    records
        Applied events, sorted by ``(occurred_at, event_id)``; their ids are the
        idempotency keys of applied events.
    rejected_ids
        Ids of events rejected against this state (unknown reference, repair too
        early), sorted. Remembered so that a redelivery gets the first verdict
        again (a duplicate) instead of being applied once its reference has arrived:
        every event is applied or dead-lettered exactly once.
    score, grade, reasons, as_of_ms, next_change_ms
        The last evaluation (:meth:`record_score`); ``as_of_ms`` is 0 before any.
    version
        Number of applied events; grows by one per applied change.
    parked
        Repairs and objections whose record has not arrived (see :class:`Parked`).
    name_reported_at, place_reported_at
        ``reported_at`` (epoch ms) of the events the name and the
        type/sector/district come from.
    Examples
    --------
    >>> s = EntityState("91350100M000100Y43", SubjectType.ENTERPRISE, "某公司")
    >>> s.add(Record(2000, "b", "license"))
    >>> s.add(Record(1000, "a", "commitment"))
    >>> [r.event_id for r in s.records], s.version, s.last_event_at
    (['a', 'b'], 2, 2000)
    >>> EntityState.from_json(s.to_json()) == s
    True
    """

    subject_id: str
    subject_type: SubjectType
    subject_name: str = ""
    sector: str = ""
    district: str = ""
    records: list[Record] = field(default_factory=list)
    rejected_ids: tuple[str, ...] = ()
    score: int | None = None
    grade: Grade | None = None
    reasons: tuple[ScoreReason, ...] = ()
    as_of_ms: int = 0
    next_change_ms: int | None = None
    version: int = 0
    name_reported_at: int | None = None
    place_reported_at: int | None = None
    parked: tuple[Parked, ...] = ()

    @classmethod
    def for_event(cls, event: CreditEvent) -> EntityState:
        """A blank state for the subject of ``event`` (its profile is set when applied)."""
        return cls(event.subject.id, event.subject.type)

    @property
    def last_event_at(self) -> int | None:
        """The latest ``occurred_at`` of the applied events (whatever their arrival order)."""
        return self.records[-1].occurred_at if self.records else None

    def knows(self, event_id: str) -> bool:
        """Whether an event with this id was already applied or rejected here."""
        for record in self.records:
            if record.event_id == event_id:
                return True
        return event_id in self.rejected_ids

    def find(self, event_id: str) -> Record | None:
        """The applied record with this id, if any."""
        for record in self.records:
            if record.event_id == event_id:
                return record
        return None

    def add(self, record: Record) -> None:
        """Insert an applied record in ``(occurred_at, event_id)`` order."""
        insort(self.records, record)
        self.version += 1

    def reject(self, event_id: str) -> None:
        """Remember the id of an event rejected against this state."""
        self.rejected_ids = tuple(sorted((*self.rejected_ids, event_id)))

    def park(self, record: Record, memo: str = "") -> None:
        """Hold a rejected repair or objection until the record it names arrives."""
        self.parked = (*self.parked, Parked(record, memo))

    def unpark(self, ref_event_id: str) -> tuple[Parked, ...]:
        """Take out the parked events that name ``ref_event_id``; they are no longer rejected."""
        found = tuple(p for p in self.parked if p.record.ref_event_id == ref_event_id)
        if found:
            self.parked = tuple(p for p in self.parked if p.record.ref_event_id != ref_event_id)
            ids = {p.record.event_id for p in found}
            self.rejected_ids = tuple(i for i in self.rejected_ids if i not in ids)
        return found

    def update_profile(self, event: CreditEvent) -> None:
        """Take name, type, sector and district from ``event`` if it is the latest report.

        "Latest" is the greatest ``reported_at``; ties are broken by the values
        themselves, so the outcome does not depend on arrival order. An empty name
        means "not given" and never replaces a known one.
        """
        reported = to_epoch_ms(event.reported_at)
        subject = event.subject
        name = subject.name
        if name and (
            self.name_reported_at is None
            or (reported, name) > (self.name_reported_at, self.subject_name)
        ):
            self.subject_name = name
            self.name_reported_at = reported
        place = (reported, subject.type.value, event.sector, event.district)
        if self.place_reported_at is None or place > (
            self.place_reported_at,
            self.subject_type.value,
            self.sector,
            self.district,
        ):
            self.subject_type = subject.type
            self.sector = sys.intern(event.sector)
            self.district = sys.intern(event.district)
            self.place_reported_at = reported

    def record_score(self, result: ScoreResult, as_of_ms: int) -> None:
        """Keep the result of the latest evaluation (what warnings compare against)."""
        self.score = result.score
        self.grade = result.grade
        self.reasons = result.reasons
        self.as_of_ms = as_of_ms
        self.next_change_ms = result.next_change_at

    def to_json(self) -> bytes:
        """Compact JSON: short keys, records and reasons as arrays, unset parts left out."""
        # orjson does not take NamedTuples itself; ``default=tuple`` makes them arrays.
        return orjson.dumps(self.to_doc(), default=tuple)

    def to_doc(self) -> dict[str, object]:
        """The JSON document of :meth:`to_json` (records and reasons still tuples)."""
        doc: dict[str, object] = {
            "f": STATE_FORMAT,
            "i": self.subject_id,
            "t": self.subject_type.value,
            "n": self.subject_name,
            "s": self.sector,
            "d": self.district,
            "r": self.records,
            "v": self.version,
            "a": self.as_of_ms,
        }
        if self.rejected_ids:
            doc["x"] = self.rejected_ids
        if self.score is not None:
            doc["sc"] = self.score
            doc["g"] = self.grade
            doc["rs"] = self.reasons
        if self.next_change_ms is not None:
            doc["nc"] = self.next_change_ms
        if self.name_reported_at is not None:
            doc["nr"] = self.name_reported_at
        if self.place_reported_at is not None:
            doc["pr"] = self.place_reported_at
        if self.parked:
            doc["pk"] = [[list(p.record), p.memo] for p in self.parked]
        return doc

    @classmethod
    def from_json(cls, data: bytes | str) -> EntityState:
        """The inverse of :meth:`to_json`."""
        return cls.from_doc(orjson.loads(data))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> EntityState:
        """The inverse of :meth:`to_doc`; keys it does not know are left to the caller."""
        if doc.get("f") != STATE_FORMAT:
            raise ValueError(f"unknown entity state format {doc.get('f')!r}")
        records = [_record(row) for row in doc["r"]]
        reasons: tuple[ScoreReason, ...] = ()
        if doc.get("rs"):
            # Reasons name records: share their id strings instead of holding copies.
            ids = {record.event_id: record.event_id for record in records}
            reasons = tuple(
                ScoreReason(ids.get(eid, eid), _SHARED.get(kind, kind), effect)
                for eid, kind, effect in doc["rs"]
            )
        grade = doc.get("g")
        return cls(
            subject_id=doc["i"],
            subject_type=_SUBJECT_TYPES[doc["t"]],
            subject_name=doc["n"],
            sector=sys.intern(doc["s"]),
            district=sys.intern(doc["d"]),
            records=records,
            rejected_ids=tuple(doc.get("x", ())),
            score=doc.get("sc"),
            grade=None if grade is None else _GRADES[grade],
            reasons=reasons,
            as_of_ms=doc["a"],
            next_change_ms=doc.get("nc"),
            version=doc["v"],
            name_reported_at=doc.get("nr"),
            place_reported_at=doc.get("pr"),
            parked=tuple(Parked(_record(row), memo) for row, memo in doc.get("pk", ())),
        )


def _record(row: list[Any]) -> Record:
    kind: str = row[2]
    label: str | None = row[3] if len(row) > 3 else None
    return Record(
        row[0],
        row[1],
        _SHARED.get(kind, kind),
        None if label is None else _SHARED.get(label, label),
        *row[4:],
    )


class SubjectScoreReason(BaseModel):
    """One line of a score's explanation."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: str
    effect: int


class SubjectScore(BaseModel):
    """A subject's public credit score (公共信用综合评价) with its reasons.

    The JSON shape of the API and of ``creditbrain score --json``; persons appear
    under their pseudonym.
    """

    model_config = ConfigDict(frozen=True)

    subject_id: str
    subject_type: SubjectType
    score: int = Field(ge=0, le=1000)
    grade: Grade
    reasons: tuple[SubjectScoreReason, ...]

    @classmethod
    def of(cls, state: EntityState, result: ScoreResult) -> SubjectScore:
        """The public form of ``result``, computed for ``state``."""
        return cls(
            subject_id=state.subject_id,
            subject_type=state.subject_type,
            score=result.score,
            grade=result.grade,
            reasons=tuple(
                SubjectScoreReason(event_id=r.event_id, kind=r.kind, effect=r.effect)
                for r in result.reasons
            ),
        )
