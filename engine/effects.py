"""What one step of the engine did, as plain values a driver maps to its outputs.

The engine (:class:`~creditbrain.engine.Engine`) never writes anywhere: each call
returns a list of these effects, in the order they happened. The worker turns them
into Kafka messages, ``creditbrain backtest`` into lines of JSON, ``creditbrain
score`` into final scores, the model evaluation into first warnings per subject.

Every input message ends in exactly one of :class:`Accepted` (also late, through
:class:`Released`), :class:`Duplicate` or :class:`DeadLettered` (of which
:class:`Parked` is a kind that may still be released).

``origin`` is whatever the driver said the message came from (the worker: its
topic, partition and offset); the engine keeps it with a parked event and hands it
back untouched, so a late verdict can name the message it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from creditbrain.alerts import AlertUpdate
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.parse import DeadLetter
from creditbrain.schemas.state import Record, ScoreReason

__all__ = [
    "Accepted",
    "DeadLettered",
    "Duplicate",
    "Effect",
    "ModelOpinion",
    "Origin",
    "Parked",
    "Released",
    "ScoreChanged",
    "SeriesCounted",
    "ShadowWarningChanged",
    "StateChanged",
    "WarningChanged",
]

#: Where a message came from, opaque to the engine (JSON values only: it is kept in state).
Origin = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Accepted:
    """An event became a record of its subject; ``wire`` is its validated JSON."""

    subject_id: str
    record: Record
    wire: bytes
    origin: Origin


@dataclass(frozen=True, slots=True)
class DeadLettered:
    """A message that cannot be applied, with its reason (``letter``).

    ``subject_id`` is ``None`` when the message could not be read far enough to
    know its subject. ``revision`` is 0 for a first verdict and 1 for a verdict
    given again (a parked repair judged once its record arrived).
    """

    letter: DeadLetter
    subject_id: str | None
    origin: Origin
    revision: int = 0


@dataclass(frozen=True, slots=True)
class Parked:
    """A repair or objection whose record has not arrived: dead-lettered now, kept for later.

    It counts as a dead letter (``unknown_reference``) until :class:`Released`.
    """

    letter: DeadLetter
    subject_id: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class Released:
    """A parked event judged again because its record arrived.

    ``applied``: it is a record now (its earlier dead letter is settled, and an
    :class:`Accepted` follows); otherwise ``letter`` is its final verdict.
    """

    subject_id: str
    event_id: str
    wire: bytes
    origin: Origin
    applied: bool
    letter: DeadLetter | None = None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A message repeating an event already applied, parked or rejected for the subject.

    Usually a redelivery after a crash: a driver that sends outputs may say again
    what the first processing produced. ``parked_origin`` is set when the event is
    still parked (its dead letter is what to repeat).
    """

    subject_id: str
    event_id: str
    wire: bytes
    origin: Origin
    parked_origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class ScoreChanged:
    """A subject's score or its reasons changed (``cause``: ``event`` or ``expiry``).

    A snapshot of the subject as of the change, so that a driver reading it after
    later steps still sees this change.
    """

    subject_id: str
    subject_type: SubjectType
    subject_name: str
    sector: str
    district: str
    as_of_ms: int
    score: int
    grade: str
    previous_score: int | None
    previous_grade: str | None
    event_id: str
    cause: str
    reasons: tuple[ScoreReason, ...]
    records: int
    last_event_ms: int | None
    version: int


@dataclass(frozen=True, slots=True)
class WarningChanged:
    """A warning opened, escalated, updated or resolved (what the warning topics carry)."""

    update: AlertUpdate
    #: Event time of the transition that caused the change, epoch ms.
    at_ms: int


@dataclass(frozen=True, slots=True)
class ShadowWarningChanged:
    """A warning change to compare under a shadow policy set (:mod:`..shadow`).

    ``live`` ``False``: what the shadow set did (stored, never delivered); ``True``:
    the live set's own change on the same re-scoring, said again for the shadow's
    comparison (its delivery is the :class:`WarningChanged`'s).
    """

    shadow: str
    update: AlertUpdate
    at_ms: int
    live: bool = False


@dataclass(frozen=True, slots=True)
class ModelOpinion:
    """The online models' opinion of one re-scoring (``None``: no opinion yet)."""

    subject_id: str
    at_ms: int
    anomaly_score: float | None
    default_probability: float | None


@dataclass(frozen=True, slots=True)
class SeriesCounted:
    """One applied event, to be counted in its sector × district × kind series.

    The series watch buckets it into the city's calendar day of ``occurred_at_ms``.
    """

    sector: str
    district: str
    kind: str
    occurred_at_ms: int


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The subject's state changed: a driver that keeps states writes it back."""

    subject_id: str


Effect = (
    Accepted
    | DeadLettered
    | Parked
    | Released
    | Duplicate
    | ScoreChanged
    | WarningChanged
    | ShadowWarningChanged
    | ModelOpinion
    | SeriesCounted
    | StateChanged
)
