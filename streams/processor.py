"""One batch of input messages -> state changes and output messages.

This is the wiring between the wire and the domain, kept free of Faust so it can
be tested directly: each message is parsed (:mod:`creditbrain.schemas.parse`),
applied to its subject's state and re-scored (:mod:`creditbrain.models.scorecard`);
the processor only decides what to emit where. Credit rules live in ``models/``
and ``alerts/``, never here.

Time is event time. The processor keeps a watermark (the latest ``occurred_at``
it has accepted) and a heap of the moments at which some subject's score changes
without a new event (publicity expiry); :meth:`Processor.advance` re-scores those
subjects as of the expiry moment itself, so a replay of the same events produces
the same score history whatever the batching.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from creditbrain.alerts import AlertState, Transition, judge, last_score
from creditbrain.core.eventtime import day_of, to_epoch_ms
from creditbrain.models.scorecard import (
    Applied,
    Duplicate,
    Released,
    ScorecardConfig,
    apply_event,
    evaluate,
)
from creditbrain.schemas.contract import DLQ, SCORES
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.schemas.parse import DeadLetter, Reason, parse_event, redact, rejected
from creditbrain.schemas.policies import PolicySet
from creditbrain.schemas.state import EntityState, Memos, Record, ScoreResult
from creditbrain.streams.messages import (
    ACCEPTED,
    Inbound,
    Outbound,
    alert_messages,
    source_headers,
)
from creditbrain.streams.models import count_messages

if TYPE_CHECKING:
    from creditbrain.models.subject import EarlyWarning

log = logging.getLogger(__name__)

_REFERRING = frozenset({"repair", "objection"})


def _memo(wire: bytes, message: Inbound) -> str:
    """What a parked event needs to be re-emitted later: its wire JSON and source position."""
    return orjson.dumps(
        {"w": wire.decode(), "s": [message.topic, message.partition, message.offset]}
    ).decode()


@dataclass
class Counters:
    """Every input message ends in exactly one of these (the counts must add up)."""

    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    score_changes: int = 0
    expiries: int = 0
    alert_changes: int = 0
    model_errors: int = 0

    @property
    def messages(self) -> int:
        return self.applied + self.duplicates + self.dead_letters


@dataclass
class BatchResult:
    """What a batch produced: messages to send and the subjects whose state changed."""

    outbound: list[Outbound] = field(default_factory=list)
    #: Subjects whose record (state, warnings, models' memo) changed: id -> partition.
    dirty: dict[str, int] = field(default_factory=dict)


class Processor:
    """Applies batches of messages to per-subject states held in ``states``.

    Parameters
    ----------
    states
        Subject id -> :class:`EntityState`; in the worker this is the Faust table's
        local data, in tests a dict.
    ctx
        The validation context (pseudonym key, reference tables).
    scorecard
        Weights and periods.
    max_bytes
        Messages over this size are dead letters (``too_large``).
    model
        The early-warning models, asked about every re-scoring (none: rules only).
    count_series
        Send the batch's counts of applied events per sector × district × kind and
        day (:data:`~creditbrain.streams.models.METRIC_COUNTS`), for the series watch.
    """

    def __init__(
        self,
        states: MutableMapping[str, EntityState],
        ctx: ParseContext,
        scorecard: ScorecardConfig,
        max_bytes: int = 1024 * 1024,
        model: EarlyWarning | None = None,
        count_series: bool = False,
    ) -> None:
        self.states = states
        #: Subject id -> its open alerts, kept in the subject's own state (``alert_memo``)
        #: so that one changelog record holds both: a crash cannot save one without the
        #: other (with a table of their own, a kill did: 160 of 6,600 alerts differed).
        self.alert_states: Memos[AlertState] = Memos(states, "alert_memo", AlertState.from_json)
        #: The warning policies in force; replaced whole when a supervisor changes one.
        self.policies = PolicySet()
        self.ctx = ctx
        self.scorecard = scorecard
        self.max_bytes = max_bytes
        self.counters = Counters()
        self.watermark_ms = 0
        self.model = model
        self.count_series = count_series
        self._expiries: list[tuple[int, str]] = []
        self._series: Counter[tuple[str, str, str, int]] = Counter()

    def restore(self, active_partitions: set[int] | None = None) -> None:
        """Rebuild the watermark and the expiry heap from the states after a rebalance.

        States of partitions this worker no longer owns are dropped: another worker
        expires them now.
        """
        if active_partitions is not None:
            gone = [k for k, v in self.states.items() if v.partition not in active_partitions]
            for subject_id in gone:
                del self.states[subject_id]
        self._expiries.clear()
        for subject_id, state in self.states.items():
            self.watermark_ms = max(self.watermark_ms, state.as_of_ms)
            if state.next_change_ms is not None:
                self._expiries.append((state.next_change_ms, subject_id))
        heapq.heapify(self._expiries)

    def process(self, batch: Sequence[Inbound]) -> BatchResult:
        """Apply one batch, then expire what the advanced watermark reaches."""
        result = BatchResult()
        for message in batch:
            self._handle(message, result)
        self._advance(result)
        if self._series:
            result.outbound.extend(count_messages(self._series))
            self._series.clear()
        return result

    def _count(self, state: EntityState, kind: str, occurred_at_ms: int) -> None:
        if self.count_series:
            self._series[(state.sector, state.district, kind, day_of(occurred_at_ms))] += 1

    def _handle(self, message: Inbound, result: BatchResult) -> None:
        parsed = parse_event(message.value, self.ctx, self.max_bytes)
        if isinstance(parsed, DeadLetter):
            self._dead_letter(message, parsed, result)
            return
        subject_id = parsed.subject.id
        state = self.states.get(subject_id)
        if state is None:
            state = EntityState.for_event(parsed)
        event_ms = to_epoch_ms(parsed.occurred_at)
        state.partition = message.partition
        self._catch_up(subject_id, state, min(event_ms, self.watermark_ms), result)
        wire = event_to_json(parsed)
        memo = _memo(wire, message) if parsed.kind in _REFERRING else ""
        outcome = apply_event(state, parsed, self.scorecard, memo)
        if isinstance(outcome, Duplicate):
            self.counters.duplicates += 1
            self._redelivered(subject_id, state, str(parsed.event_id), wire, message, result)
            return
        if not isinstance(outcome, Applied):
            self.states[subject_id] = state  # it remembers the rejected id (and may park it)
            result.dirty[subject_id] = state.partition
            letter = rejected(parsed, outcome.reason, outcome.detail)
            self._dead_letter(message, letter, result, subject_id)
            return
        self.counters.applied += 1
        self.states[subject_id] = state
        result.dirty[subject_id] = state.partition
        result.outbound.append(
            Outbound(ACCEPTED, subject_id.encode(), wire, source_headers(message))
        )
        self._count(state, parsed.kind, event_ms)
        for late in outcome.released:
            self._released(subject_id, late, result)
        as_of = max(state.as_of_ms, event_ms)
        record = Record.from_event(parsed)
        self._rescore(subject_id, state, as_of, str(parsed.event_id), "event", result, record)
        self.watermark_ms = max(self.watermark_ms, event_ms)

    def _dead_letter(
        self,
        message: Inbound,
        letter: DeadLetter,
        result: BatchResult,
        subject_id: str | None = None,
        revision: int = 0,
    ) -> None:
        self.counters.dead_letters += 1
        self._send_dead_letter(message, letter, result, subject_id, revision)

    def _send_dead_letter(
        self,
        message: Inbound,
        letter: DeadLetter,
        result: BatchResult,
        subject_id: str | None = None,
        revision: int = 0,
    ) -> None:
        """Put a dead letter on the DLQ topic.

        Keyed by the subject when it is known, so that every verdict on one message
        lands in one partition; ``revision`` orders a later verdict (a repair judged
        again once its record arrived) after the first one in the store.
        """
        headers = [
            ("reason", letter.reason.value.encode()),
            ("detail", letter.detail.encode()),
            ("event-id", letter.event_id.encode()),
            ("revision", str(revision).encode()),
            *source_headers(message),
        ]
        if subject_id is not None:
            key: bytes | None = subject_id.encode()
        else:
            key = redact(message.key, self.ctx.pseudonym_key) if message.key else None
        raw = letter.raw if letter.raw or not message.value else b""
        if message.value and not raw:
            # A message over the size limit is not read, so it cannot be checked for
            # personal data, and the DLQ topic need not take messages that large:
            # its body stays behind, and this header says so.
            headers.append(("body", b"dropped"))
        result.outbound.append(Outbound(DLQ, key, raw, headers))

    def _released(self, subject_id: str, late: Released, result: BatchResult) -> None:
        """A parked repair or objection whose record has arrived: settle its dead letter."""
        memo = orjson.loads(late.memo)
        origin = Inbound(memo["s"][0], memo["s"][1], memo["s"][2], None, b"")
        wire = memo["w"].encode()
        key = subject_id.encode()
        if isinstance(late.outcome, Applied):
            self.counters.applied += 1
            self.counters.dead_letters -= 1
            self.watermark_ms = max(self.watermark_ms, late.record.occurred_at)
            self._count(self.states[subject_id], late.record.kind, late.record.occurred_at)
            result.outbound.append(Outbound(ACCEPTED, key, wire, source_headers(origin)))
            headers = [
                ("reason", Reason.UNKNOWN_REFERENCE.value.encode()),
                ("resolution", b"applied_late"),
                ("event-id", late.record.event_id.encode()),
                ("revision", b"1"),
                *source_headers(origin),
            ]
            result.outbound.append(Outbound(DLQ, key, wire, headers))
            return
        letter = DeadLetter(late.outcome.reason, late.outcome.detail, wire, late.record.event_id)
        self.counters.dead_letters -= 1  # the same message, judged again
        self._dead_letter(origin, letter, result, subject_id, revision=1)

    def _catch_up(
        self, subject_id: str, state: EntityState, until_ms: int, result: BatchResult
    ) -> None:
        """Emit the expiry changes of ``state`` that fall before ``until_ms``."""
        while state.next_change_ms is not None and state.next_change_ms <= until_ms:
            self.counters.expiries += 1
            self._rescore(subject_id, state, state.next_change_ms, "", "expiry", result)
            result.dirty[subject_id] = state.partition

    def _advance(self, result: BatchResult) -> None:
        heap = self._expiries
        while heap and heap[0][0] <= self.watermark_ms:
            due, subject_id = heapq.heappop(heap)
            state = self.states.get(subject_id)
            if state is None or state.next_change_ms != due:
                continue  # stale entry: the subject was re-scored since
            self._catch_up(subject_id, state, self.watermark_ms, result)

    def _rescore(
        self,
        subject_id: str,
        state: EntityState,
        as_of_ms: int,
        event_id: str,
        cause: str,
        result: BatchResult,
        record: Record | None = None,
    ) -> None:
        before = last_score(state)
        scored: ScoreResult = evaluate(state, as_of_ms, self.scorecard)
        changed = before is None or scored.score != before.score or scored.reasons != before.reasons
        state.record_score(scored, as_of_ms)
        if scored.next_change_at is not None:
            heapq.heappush(self._expiries, (scored.next_change_at, subject_id))
        if changed:
            self.counters.score_changes += 1
            previous_score = before.score if before else None
            previous_grade = before.grade if before else None
            change = _score_message(
                subject_id, state, event_id, cause, previous_score, previous_grade
            )
            result.outbound.append(Outbound(SCORES, subject_id.encode(), change))
        anomaly, probability = self._ask_models(state, scored, as_of_ms, record)
        transition = Transition.of(
            state,
            before,
            scored,
            as_of_ms,
            record,
            anomaly_score=anomaly,
            default_probability=probability,
        )
        self._judge(subject_id, state, transition, result)

    def _ask_models(
        self, state: EntityState, scored: ScoreResult, as_of_ms: int, record: Record | None
    ) -> tuple[float | None, float | None]:
        """The models' opinion of a re-scoring; a failing model never stops the scoring.

        A model that raises (say, restored from a checkpoint an older version wrote)
        is replaced by a fresh one, which learns from scratch; if that one fails too,
        the worker goes on with the rules alone. Each failure is logged.
        """
        model = self.model
        if model is None:
            return None, None
        try:
            return model.observe(state, scored, as_of_ms, record)
        except Exception:
            self.counters.model_errors += 1
            if self.counters.model_errors > 1:
                log.exception("early-warning models failed again; going on with the rules alone")
                self.model = None
                return None, None
            log.exception("early-warning models failed; starting them afresh")
            from creditbrain.models.subject import EarlyWarning

            self.model = EarlyWarning(model.feature_states)
            return None, None

    def _judge(
        self, subject_id: str, state: EntityState, transition: Transition, result: BatchResult
    ) -> None:
        """Let the warning rules look at the transition; send what they open, raise or close."""
        alerts = self.alert_states.get(subject_id)
        fresh = alerts is None
        if alerts is None:
            alerts = AlertState()
        updates = judge(alerts, transition, self.policies)
        if alerts or not fresh:
            self.alert_states[subject_id] = alerts
            result.dirty[subject_id] = state.partition
        for update in updates:
            self.counters.alert_changes += 1
            result.outbound.extend(alert_messages(update))

    def _redelivered(
        self,
        subject_id: str,
        state: EntityState,
        event_id: str,
        wire: bytes,
        message: Inbound,
        result: BatchResult,
    ) -> None:
        """Say again what an applied event produced, in case a crash lost it the first time.

        A duplicate is usually a redelivery after a crash, and the outputs of its
        first processing may not have reached Kafka even though the state's changelog
        did. Re-sending is harmless: the store keeps one row per event id, and the
        ``current`` score message only refreshes the subject's current state.
        """
        for parked in state.parked:
            if parked.record.event_id == event_id:  # still waiting for its record
                memo = orjson.loads(parked.memo)
                origin = Inbound(memo["s"][0], memo["s"][1], memo["s"][2], None, b"")
                letter = DeadLetter(
                    Reason.UNKNOWN_REFERENCE, "its record has not arrived", wire, event_id
                )
                self._send_dead_letter(origin, letter, result, subject_id)
                return
        result.outbound.append(
            Outbound(ACCEPTED, subject_id.encode(), wire, source_headers(message))
        )
        if state.score is not None:
            current = _score_message(subject_id, state, "", "current", state.score, state.grade)
            result.outbound.append(Outbound(SCORES, subject_id.encode(), current))


def _score_message(
    subject_id: str,
    state: EntityState,
    event_id: str,
    cause: str,
    previous_score: int | None,
    previous_grade: str | None,
) -> bytes:
    """A ``credit.scores`` message: the state's latest evaluation and what caused it."""
    return orjson.dumps(
        {
            "subject_id": subject_id,
            "subject_type": state.subject_type,
            "subject_name": state.subject_name,
            "sector": state.sector,
            "district": state.district,
            "as_of_ms": state.as_of_ms,
            "score": state.score,
            "grade": state.grade,
            "previous_score": previous_score,
            "previous_grade": previous_grade,
            "event_id": event_id,
            "cause": cause,
            "reasons": [
                {"event_id": r.event_id, "kind": r.kind, "effect": r.effect} for r in state.reasons
            ],
            "records": len(state.records),
            "last_event_ms": state.last_event_at,
            # Grows with every change of the subject (as_of never goes back), so the
            # current-state table keeps the latest row whatever order rows arrive in.
            "version": state.as_of_ms * 1_000_000 + min(state.version, 999_999),
        }
    )
