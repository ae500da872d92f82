"""The plain-JSON messages the stream publishes besides warnings: score changes and series days.

:class:`ScoreChange` is one message of ``credit.scores`` (CONTRACT.md §2, docs/contract.md
§4): a subject's evaluation after an event or an expiry, with its reasons. The worker
writes it with orjson for speed; this model is its published form, exported as JSON
Schema (:mod:`.export`) and checked against what the worker writes
(``tests/docs/test_published.py``), so the two cannot part.

:class:`MetricDay` is one message of ``credit.metric.days``: a scored day of a city-level
series (sector × district × kind), what the store's ``metric_counts`` and
``metric_anomalies`` tables are filled from.

>>> change = ScoreChange.model_validate({
...     "subject_id": "91350100M000100Y43", "subject_type": "enterprise",
...     "subject_name": "某公司", "sector": "food_drug", "district": "371102",
...     "as_of_ms": 1772587800000, "score": 940, "grade": "A", "previous_score": 960,
...     "previous_grade": "A", "event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",
...     "cause": "event", "reasons": [{"event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",
...     "kind": "penalty", "effect": -20}], "records": 3, "last_event_ms": 1772587800000,
...     "version": 1772587800000000004})
>>> change.grade, change.reasons[0].effect
('A', -20)
>>> MetricDay.model_validate_json(
...     '{"sector":"food_drug","district":"371102","kind":"penalty","day":"2026-03-04",'
...     '"events":41,"anomaly_score":0.5}').day.isoformat()
'2026-03-04'
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Grade

_WIRE = ConfigDict(frozen=True, extra="forbid")

#: Why a score message was sent: an event applied, a record's publicity ended, or a
#: redelivered event restating the subject's current score.
Cause = Literal["event", "expiry", "current"]

_Score = Annotated[int, Field(ge=0, le=1000)]
_EpochMs = Annotated[int, Field(description="Milliseconds since 1970-01-01T00:00:00Z.")]


class ScoreReason(BaseModel):
    """A record behind the score and its effect in points (negative: a deduction)."""

    model_config = _WIRE

    event_id: str
    kind: str
    effect: int


class ScoreChange(BaseModel):
    """A ``credit.scores`` message: a subject's credit score (公共信用综合评价) after a change.

    Keyed by ``subject_id``. ``version`` grows with every change of the subject: of
    several messages about one subject, the one with the highest ``version`` is current.
    """

    model_config = _WIRE

    subject_id: Annotated[str, Field(min_length=1, description="Credit code or pseudonym.")]
    subject_type: SubjectType
    subject_name: str
    sector: str
    district: str
    as_of_ms: _EpochMs
    score: _Score
    grade: Grade
    previous_score: _Score | None
    previous_grade: Grade | None
    event_id: Annotated[str, Field(description="The event applied; empty for an expiry.")]
    cause: Cause
    reasons: tuple[ScoreReason, ...]
    records: Annotated[int, Field(ge=0, description="Records held for the subject.")]
    last_event_ms: _EpochMs | None
    version: Annotated[int, Field(ge=0)]


class MetricDay(BaseModel):
    """A ``credit.metric.days`` message: one day of a series, its count and anomaly score.

    Keyed by the series, ``<sector>|<district>|<kind>``; ``day`` is a calendar day in
    China Standard Time.
    """

    model_config = _WIRE

    sector: str
    district: str
    kind: str
    day: date
    events: Annotated[int, Field(ge=0)]
    anomaly_score: Annotated[float, Field(ge=0, le=1)]
