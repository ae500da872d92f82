"""The worker's driver of the engine: a batch of Kafka messages in, messages to produce out.

The per-event step itself is :class:`creditbrain.engine.Engine` (pure, shared with
``creditbrain score``, ``creditbrain backtest`` and the models' evaluation); this
module only says where each of its effects goes:

========================  =====================================================
effect                    message
========================  =====================================================
``Accepted``              ``credit.events.accepted`` (with the source position)
``DeadLettered``          ``credit.events.dlq`` with reason, detail, revision
``Parked``                ``credit.events.dlq`` (``unknown_reference``), for now
``Released``              ``credit.events.dlq`` again: settled or final verdict
``Duplicate``             what the first processing sent, again (see below)
``ScoreChanged``          ``credit.scores``
``WarningChanged``        ``alerts.log``, ``credit.warnings(.grid)``
``ShadowWarningChanged``  ``alerts.shadow`` (the store only)
``SeriesCounted``         summed per batch into ``<app id>-metric-counts``
``StateChanged``          the subject's changelog record (``BatchResult.dirty``)
========================  =====================================================

The one piece of transport kept per subject is its input partition
(:class:`~creditbrain.streams.subjects.HeldSubject`), which its changelog record follows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import orjson

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.snooze import SnoozeSet
from creditbrain.core.eventtime import day_of
from creditbrain.engine import Counters, Engine
from creditbrain.engine import effects as fx
from creditbrain.engine.shadow import ShadowSet
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.contract import DLQ, SCORES
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.parse import DeadLetter, Reason, redact
from creditbrain.streams.messages import (
    ACCEPTED,
    Inbound,
    Outbound,
    alert_messages,
    shadow_message,
    source_headers,
)
from creditbrain.streams.models import count_messages
from creditbrain.streams.subjects import HeldSubject

if TYPE_CHECKING:
    from creditbrain.engine.subject import AlertStates, SubjectRecord

__all__ = ["BatchResult", "Counters", "Processor"]


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
    subjects
        Subject id -> :class:`~creditbrain.streams.subjects.HeldSubject`; in the worker
        the Faust table's local data, in tests a dict.
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
        subjects: MutableMapping[str, HeldSubject],
        ctx: ParseContext,
        scorecard: ScorecardConfig,
        max_bytes: int = 1024 * 1024,
        model: EarlyWarning | None = None,
        count_series: bool = False,
    ) -> None:
        self.subjects = subjects
        # The engine sees them as SubjectRecords; it makes new ones with new_subject, so
        # the mapping holds HeldSubjects only.
        records = cast("MutableMapping[str, SubjectRecord]", subjects)
        self.engine = Engine(
            records,
            ctx,
            scorecard,
            model=model,
            max_bytes=max_bytes,
            count_series=count_series,
            new_subject=HeldSubject.for_event,
        )
        self.ctx = ctx

    # The engine's parts a host process reads or replaces (policies, models, counters).

    @property
    def alert_states(self) -> AlertStates:
        return self.engine.alert_states

    @property
    def counters(self) -> Counters:
        return self.engine.counters

    @property
    def watermark_ms(self) -> int:
        return self.engine.watermark_ms

    @property
    def policies(self) -> PolicySet:
        """The warning policies in force; replaced whole when a supervisor changes one."""
        return self.engine.policies

    @policies.setter
    def policies(self, policies: PolicySet) -> None:
        self.engine.policies = policies

    @property
    def snoozes(self) -> SnoozeSet:
        """The snoozes in force (``credit.snoozes``); replaced whole on each message."""
        return self.engine.snoozes

    @snoozes.setter
    def snoozes(self, snoozes: SnoozeSet) -> None:
        self.engine.snoozes = snoozes

    @property
    def shadows(self) -> ShadowSet:
        """The shadow policy sets (``credit.policies.shadow``); replaced whole on each message."""
        return self.engine.shadows

    @shadows.setter
    def shadows(self, shadows: ShadowSet) -> None:
        self.engine.shadows = shadows

    @property
    def model(self) -> EarlyWarning | None:
        model = self.engine.model
        return model if isinstance(model, EarlyWarning) else None

    @model.setter
    def model(self, model: EarlyWarning | None) -> None:
        self.engine.model = model

    def restore(self, active_partitions: set[int] | None = None) -> None:
        """Rebuild the watermark and the expiry heap from the states after a rebalance.

        States of partitions this worker no longer owns are dropped: another worker
        expires them now.
        """
        subjects = self.subjects
        if active_partitions is not None:
            gone = [k for k, v in subjects.items() if v.partition not in active_partitions]
            for subject_id in gone:
                del subjects[subject_id]
        self.engine.restore()

    def process(self, batch: Sequence[Inbound]) -> BatchResult:
        """Apply one batch; map every effect to the messages and changelog records it means."""
        result = BatchResult()
        series: Counter[tuple[str, str, str, int]] = Counter()
        for message in batch:
            origin = (message.topic, message.partition, message.offset)
            for effect in self.engine.apply(message.value, origin):
                self._send(effect, message, result, series)
        for effect in self.engine.advance():
            self._send(effect, None, result, series)
        if series and batch:
            first = batch[0]
            batch_id = f"{first.topic}:{first.partition}:{first.offset}"
            result.outbound.extend(count_messages(series, batch_id))
        return result

    def change_policies(self, policies: PolicySet, at_ms: int) -> BatchResult:
        """Put ``policies`` in force and re-judge the open warnings they change, at ``at_ms``.

        The warnings and states this changes go out like a batch's
        (:meth:`creditbrain.engine.Engine.change_policies`).
        """
        result = BatchResult()
        series: Counter[tuple[str, str, str, int]] = Counter()
        for effect in self.engine.change_policies(policies, at_ms):
            self._send(effect, None, result, series)
        return result

    def _send(
        self,
        effect: fx.Effect,
        message: Inbound | None,
        result: BatchResult,
        series: Counter[tuple[str, str, str, int]],
    ) -> None:
        out = result.outbound
        match effect:
            case fx.StateChanged(subject_id):
                held = self.subjects[subject_id]
                if message is not None:
                    held.partition = message.partition
                result.dirty[subject_id] = held.partition
            case fx.Accepted(subject_id, _, wire, origin):
                out.append(Outbound(ACCEPTED, subject_id.encode(), wire, _headers(origin)))
            case fx.ScoreChanged():
                out.append(Outbound(SCORES, effect.subject_id.encode(), _score_message(effect)))
            case fx.WarningChanged(update):
                out.extend(alert_messages(update))
            case fx.ShadowWarningChanged(shadow, update, _, live):
                running = self.engine.shadows.by_name.get(shadow)
                if running is not None:
                    started = int(running.started_at.timestamp() * 1000)
                    out.append(shadow_message(shadow, started, update, live))
            case fx.SeriesCounted(sector, district, kind, occurred_at_ms):
                series[(sector, district, kind, day_of(occurred_at_ms))] += 1
            case fx.DeadLettered() | fx.Parked() | fx.Released() | fx.Duplicate():
                out.extend(self._verdict(effect, message))
            case fx.ModelOpinion():
                pass  # the models' opinions reach the topics through the warnings they raise

    def _verdict(
        self,
        effect: fx.DeadLettered | fx.Parked | fx.Released | fx.Duplicate,
        message: Inbound | None,
    ) -> list[Outbound]:
        """The DLQ records (or, for a duplicate, the repeats) of a message's verdict."""
        match effect:
            case fx.DeadLettered(letter, subject_id, origin, revision):
                key = message.key if message is not None else None
                # A message over the size limit is not read, so it cannot be checked for
                # personal data, and the DLQ topic need not take messages that large:
                # its body stays behind, and a header says so.
                dropped = not letter.raw and message is not None and bool(message.value)
                return [self._dead_letter(letter, subject_id, origin, revision, key, dropped)]
            case fx.Parked(letter, subject_id, origin):
                return [self._dead_letter(letter, subject_id, origin, 0, None)]
            case fx.Released(subject_id, event_id, wire, origin, applied, letter):
                if applied:
                    return [_settled(subject_id, event_id, wire, origin)]
                assert letter is not None  # noqa: S101 - a release not applied has its verdict
                return [self._dead_letter(letter, subject_id, origin, 1, None)]
            case fx.Duplicate():
                return self._redelivered(effect)

    def _dead_letter(
        self,
        letter: DeadLetter,
        subject_id: str | None,
        origin: fx.Origin,
        revision: int,
        raw_key: bytes | None,
        dropped: bool = False,
    ) -> Outbound:
        """A dead letter for the DLQ topic.

        Keyed by the subject when it is known, so that every verdict on one message
        lands in one partition; ``revision`` orders a later verdict (a repair judged
        again once its record arrived) after the first one in the store.
        """
        headers = [
            ("reason", letter.reason.value.encode()),
            ("detail", letter.detail.encode()),
            ("event-id", letter.event_id.encode()),
            ("revision", str(revision).encode()),
            *_headers(origin),
        ]
        if subject_id is not None:
            key: bytes | None = subject_id.encode()
        else:
            key = redact(raw_key, self.ctx.pseudonym_key) if raw_key else None
        if dropped:
            headers.append(("body", b"dropped"))
        return Outbound(DLQ, key, letter.raw, headers)

    def _redelivered(self, duplicate: fx.Duplicate) -> list[Outbound]:
        """Say again what an applied event produced, in case a crash lost it the first time.

        A duplicate is usually a redelivery after a crash, and the outputs of its
        first processing may not have reached Kafka even though the state's changelog
        did. Re-sending is harmless: the store keeps one row per event id, and the
        ``current`` score message only refreshes the subject's current state.
        """
        subject_id = duplicate.subject_id
        if duplicate.parked_origin is not None:  # still waiting for its record
            letter = DeadLetter(
                Reason.UNKNOWN_REFERENCE,
                "its record has not arrived",
                duplicate.wire,
                duplicate.event_id,
            )
            return [self._dead_letter(letter, subject_id, duplicate.parked_origin, 0, None)]
        key = subject_id.encode()
        again = [Outbound(ACCEPTED, key, duplicate.wire, _headers(duplicate.origin))]
        state = self.subjects[subject_id].state
        if state.score is not None and state.grade is not None:
            current = fx.ScoreChanged(
                subject_id,
                state.subject_type,
                state.subject_name,
                state.sector,
                state.district,
                state.as_of_ms,
                state.score,
                state.grade,
                state.score,
                state.grade,
                "",
                "current",
                state.reasons,
                len(state.records),
                state.last_event_at,
                state.version,
            )
            again.append(Outbound(SCORES, key, _score_message(current)))
        return again


def _headers(origin: fx.Origin) -> list[tuple[str, bytes]]:
    """The source headers of the input message at ``origin`` (topic, partition, offset)."""
    if len(origin) != 3:
        return []
    topic, partition, offset = origin
    return source_headers(Inbound(str(topic), int(partition), int(offset), None, b""))


def _settled(subject_id: str, event_id: str, wire: bytes, origin: fx.Origin) -> Outbound:
    """The DLQ record saying that a parked event was applied after all."""
    headers = [
        ("reason", Reason.UNKNOWN_REFERENCE.value.encode()),
        ("resolution", b"applied_late"),
        ("event-id", event_id.encode()),
        ("revision", b"1"),
        *_headers(origin),
    ]
    return Outbound(DLQ, subject_id.encode(), wire, headers)


def _score_message(change: fx.ScoreChanged) -> bytes:
    """A ``credit.scores`` message: the subject's evaluation and what caused it."""
    return orjson.dumps(
        {
            "subject_id": change.subject_id,
            "subject_type": change.subject_type,
            "subject_name": change.subject_name,
            "sector": change.sector,
            "district": change.district,
            "as_of_ms": change.as_of_ms,
            "score": change.score,
            "grade": change.grade,
            "previous_score": change.previous_score,
            "previous_grade": change.previous_grade,
            "event_id": change.event_id,
            "cause": change.cause,
            "reasons": [
                {"event_id": r.event_id, "kind": r.kind, "effect": r.effect} for r in change.reasons
            ],
            "records": change.records,
            "last_event_ms": change.last_event_ms,
            # Grows with every change of the subject (as_of never goes back), so the
            # current-state table keeps the latest row whatever order rows arrive in.
            "version": change.as_of_ms * 1_000_000 + min(change.version, 999_999),
        }
    )
