"""A subject's transition: what the rules look at, once per re-scoring.

The stream re-scores a subject when an event is applied and when a publicity
period ends; each re-scoring is a :class:`Transition` from the score before to
the score after, at an event time. Rules judge the state *after* the transition,
and compare with *before* for what is new.

:class:`Facts` derives, lazily and once per transition, the views several rules
share (which records count, by kind; which are new), so a transition that touches
no rule costs a few dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import EntityState, Record, ScoreReason, ScoreResult

#: The score of a subject without records; what a subject scored before its first event.
CLEAN = ScoreResult(1000, "A", ())

# NamedTuple's Python-level __new__ doubles the cost of building one (as in schemas.state).
_new_tuple = tuple.__new__

#: Grades as numbers, higher is better.
GRADE_RANK: dict[str, int] = {"A": 3, "B": 2, "C": 1, "D": 0}


def last_score(state: EntityState) -> ScoreResult | None:
    """The score ``state`` holds now (call before ``record_score``); ``None`` if never scored.

    >>> state = EntityState("91350100M000100Y43", SubjectType.ENTERPRISE)
    >>> last_score(state) is None
    True
    >>> state.record_score(ScoreResult(940, "A", (ScoreReason("e", "penalty", -60),)), 0)
    >>> last_score(state).score
    940
    """
    if state.score is None or state.grade is None:
        return None
    return ScoreResult(state.score, state.grade, state.reasons, state.next_change_ms)


class Transition(NamedTuple):
    """One re-scoring of one subject (immutable; a tuple, built once per re-scoring).

    Parameters
    ----------
    subject_id, subject_type, subject_name, sector, district
        The subject as the state knows it after the event (persons: pseudonym).
    at_ms
        Event time of the re-scoring (the ``as_of`` of the evaluation), epoch ms.
    event
        The record of the event that caused it; ``None`` for a publicity expiry.
    before
        The score before; ``None`` for a subject never scored (it then counts as
        :data:`CLEAN`: 1000, grade A, the score of an empty record).
    after
        The score after.
    records
        The state's records, sorted (the list itself: read, never kept).
    anomaly_score
        The online anomaly model's score in [0, 1] for this transition, ``None``
        when it gave none (then ``anomalous_deterioration`` neither opens nor resolves).
    default_probability
        Predicted probability of a red event within 90 days, ``None`` likewise.
    explain
        ``explain(rule)``: the top contributions behind a model rule's output for this
        transition (asked only when a model warning changes); ``None`` without models.
    """

    subject_id: str
    subject_type: SubjectType
    subject_name: str
    sector: str
    district: str
    at_ms: int
    event: Record | None
    before: ScoreResult | None
    after: ScoreResult
    records: Sequence[Record]
    anomaly_score: float | None = None
    default_probability: float | None = None
    explain: Callable[[str], Sequence[Mapping[str, object]]] | None = None

    @classmethod
    def of(
        cls,
        state: EntityState,
        before: ScoreResult | None,
        after: ScoreResult,
        at_ms: int,
        event: Record | None = None,
        *,
        anomaly_score: float | None = None,
        default_probability: float | None = None,
        explain: Callable[[str], Sequence[Mapping[str, object]]] | None = None,
    ) -> Transition:
        """The transition of ``state`` (already updated) from ``before`` to ``after``."""
        return _new_tuple(
            cls,
            (
                state.subject_id,
                state.subject_type,
                state.subject_name,
                state.sector,
                state.district,
                at_ms,
                event,
                before,
                after,
                state.records,
                anomaly_score,
                default_probability,
                explain,
            ),
        )


class Facts:
    """Views of one transition shared by the rules, each computed on first use."""

    __slots__ = (
        "_by_kind",
        "_counting",
        "_deductions",
        "_fresh",
        "after",
        "before",
        "peaks",
        "transition",
    )

    def __init__(self, transition: Transition, peaks: Sequence[tuple[int, int]] = ()) -> None:
        self.transition = transition
        self.before = transition.before or CLEAN
        self.after = transition.after
        #: The score peaks (:mod:`creditbrain.alerts.history`), this transition's included.
        self.peaks = peaks
        self._by_kind: dict[str, list[ScoreReason]] | None = None
        self._counting: list[tuple[Record, ScoreReason]] | None = None
        self._fresh: set[str] | None = None
        self._deductions: tuple[ScoreReason, ...] | None = None

    def reasons_of(self, kind: str) -> list[ScoreReason]:
        """The counting records of ``kind`` (their reasons), oldest first."""
        by_kind = self._by_kind
        if by_kind is None:
            by_kind = {}
            for reason in self.after.reasons:
                by_kind.setdefault(reason.kind, []).append(reason)
            self._by_kind = by_kind
        return by_kind.get(kind, [])

    @property
    def deductions(self) -> tuple[ScoreReason, ...]:
        """The counting records that lower the score."""
        found = self._deductions
        if found is None:
            found = self._deductions = tuple([r for r in self.after.reasons if r.effect < 0])
        return found

    def counting(self) -> list[tuple[Record, ScoreReason]]:
        """Each counting record with its reason, in record order."""
        if self._counting is None:
            self._counting = _pair(self.transition.records, self.after.reasons)
        return self._counting

    def counting_of(self, kind: str) -> list[tuple[Record, ScoreReason]]:
        """:meth:`counting`, only ``kind``."""
        if not self.reasons_of(kind):
            return []
        return [pair for pair in self.counting() if pair[0].kind == kind]

    @property
    def fresh(self) -> set[str]:
        """Ids of the records that count now and did not before this transition."""
        found = self._fresh
        if found is None:
            before = {r.event_id for r in self.before.reasons}
            found = self._fresh = {r.event_id for r in self.after.reasons} - before
        return found

    def any_fresh(self, reasons: Sequence[ScoreReason]) -> bool:
        """Whether one of ``reasons`` started counting in this transition."""
        fresh = self.fresh
        return bool(fresh) and any([r.event_id in fresh for r in reasons])

    def new_deductions(self) -> tuple[ScoreReason, ...]:
        """Deductions that started counting in this transition."""
        fresh = self.fresh
        return tuple([r for r in self.deductions if r.event_id in fresh]) if fresh else ()

    def occurred_at(self, event_id: str) -> int | None:
        """When the counting record ``event_id`` occurred."""
        for record, _ in self.counting():
            if record.event_id == event_id:
                occurred: int = record.occurred_at
                return occurred
        return None


def _pair(
    records: Sequence[Record], reasons: tuple[ScoreReason, ...]
) -> list[tuple[Record, ScoreReason]]:
    # The scorecard lists reasons in record order, so one merge walk pairs them.
    pairs: list[tuple[Record, ScoreReason]] = []
    if not reasons:
        return pairs
    index, wanted = 0, reasons[0].event_id
    for record in records:
        if record.event_id == wanted:
            pairs.append((record, reasons[index]))
            index += 1
            if index == len(reasons):
                return pairs
            wanted = reasons[index].event_id
    # Not in record order after all (a state edited by hand): look the rest up by id.
    by_id = {record.event_id: record for record in records}
    for reason in reasons[index:]:
        found = by_id.get(reason.event_id)
        if found is not None:
            pairs.append((found, reason))
    return pairs
