"""The per-event step, written once: subject state + one message (or a moment) -> effects.

:class:`Engine` holds the subjects' states (a mapping the driver provides: the
worker's table, or a dict), the scorecard, the warning policies in force and the
online models. :meth:`Engine.apply` takes one wire message; :meth:`Engine.advance`
lets event time run on, re-scoring the subjects whose publicity periods end. Both
return :mod:`effects <creditbrain.engine.effects>` and change nothing else than the
states, the models and the counters: no Kafka, no Faust, no clock, no I/O. For a
given order of calls the effects are always the same, which is what lets
``creditbrain backtest`` say exactly what the worker would publish.

One message goes through these steps:

1. the door (:func:`~creditbrain.schemas.parse.parse_event`): a message that is
   not a valid event is a dead letter;
2. expiries of the subject that fall before the message's time are caught up, so
   its warnings see the score the subject had just before;
3. the event is applied (:func:`~creditbrain.models.scorecard.apply_event`):
   accepted, a duplicate, rejected against the state, or parked until its record
   arrives (and records it releases are judged again);
4. the subject is re-scored as of the event, the models give their opinion and
   learn, and the warning rules judge the transition
   (:func:`~creditbrain.alerts.judge`) under the policies in force.

A policy change is a moment of its own: :meth:`Engine.change_policies` puts the new
set in force and re-judges at once the open warnings whose rule it changes for the
subject's sector and district, at the event time the engine has reached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Protocol

import orjson

from creditbrain.alerts import AlertState, PolicySet, Transition, judge, last_score
from creditbrain.alerts.snooze import SnoozeSet
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.models.explain import Contribution
from creditbrain.models.features import FeatureState
from creditbrain.models.scorecard import Applied, Duplicate, ScorecardConfig, apply_event, evaluate
from creditbrain.models.scorecard import Released as ReleasedRecord
from creditbrain.models.subject import EarlyWarning, Opinion
from creditbrain.schemas.events import CreditEvent, ParseContext, event_to_json
from creditbrain.schemas.parse import DeadLetter, parse_event, rejected
from creditbrain.schemas.state import EntityState, Record, ScoreResult

from . import effects as fx
from .clock import ExpiryClock
from .shadow import ShadowSet
from .subject import AlertStates, SubjectRecord, Subjects

__all__ = ["Counters", "Engine", "Models", "TimedModels"]

log = logging.getLogger(__name__)

_REFERRING = frozenset({"repair", "objection"})
_NO_ORIGIN: fx.Origin = ()


class Models(Protocol):
    """What the engine asks of the online models (:class:`EarlyWarning` and wrappers of it)."""

    feature_states: MutableMapping[str, FeatureState]

    def observe(
        self,
        state: EntityState,
        result: ScoreResult,
        at_ms: int,
        record: Record | None = None,
        *,
        policies: PolicySet | None = None,
    ) -> Opinion: ...


class TimedModels:
    """Models that add up the calls to them and the time spent in them (for measurements).

    The engine asks them like the models they wrap; :mod:`.evaluation` and the models
    benchmark read :attr:`calls` and :attr:`seconds` afterwards.
    """

    def __init__(self, model: EarlyWarning) -> None:
        self.model = model
        self.feature_states = model.feature_states
        self.calls = 0
        self.seconds = 0.0

    def observe(
        self,
        state: EntityState,
        result: ScoreResult,
        at_ms: int,
        record: Record | None = None,
        *,
        policies: PolicySet | None = None,
    ) -> Opinion:
        started = time.perf_counter()
        try:
            return self.model.observe(state, result, at_ms, record, policies=policies)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    def explain(self, rule: str) -> list[Contribution]:
        """The wrapped models' explanation (:meth:`EarlyWarning.explain`)."""
        return self.model.explain(rule)


@dataclass
class Counters:
    """Every input message ends in exactly one of the first three (the counts must add up)."""

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


class Engine:
    """Applies messages and event time to per-subject states; returns what happened.

    Parameters
    ----------
    subjects
        Subject id -> :class:`~.subject.SubjectRecord` (ledger, open warnings, the
        models' memory): everything the engine keeps, in the driver's mapping.
    ctx
        The validation context (pseudonym key, reference tables).
    scorecard
        Weights and periods.
    policies
        The warning policies in force; replace :attr:`policies` whole to change them.
    snoozes
        The snoozes in force (:class:`~creditbrain.alerts.snooze.SnoozeSet`); a warning
        change they cover at its event time is marked snoozed and not delivered.
        Replace :attr:`snoozes` whole to change them.
    shadows
        The shadow policy sets (:class:`~.shadow.ShadowSet`): each re-scoring is also
        judged under each of them, with each shadow's own open warnings, and said as
        :class:`~.effects.ShadowWarningChanged`. Replace :attr:`shadows` whole.
    model
        The early-warning models, asked about every re-scoring (``None``: rules only).
    max_bytes
        Messages over this size are dead letters (``too_large``).
    count_series
        Say :class:`~.effects.SeriesCounted` for every applied event (for the series watch).
    new_subject
        Makes the record of a subject seen for the first time (a driver that keeps
        more per subject, such as the worker's partition, passes its own kind).

    Examples
    --------
    >>> from creditbrain.models.scorecard import DEFAULT_SCORECARD
    >>> engine = Engine({}, ParseContext(b"k"), DEFAULT_SCORECARD)
    >>> line = (b'{"schema_version": 1, "event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",'
    ...   b' "kind": "dishonest_debtor", "subject": {"type": "enterprise",'
    ...   b' "id": "91350100M000100Y43"}, "source": "court", "sector": "finance",'
    ...   b' "district": "371102", "occurred_at": "2026-03-04T09:30:00+08:00",'
    ...   b' "reported_at": "2026-03-04T09:30:00+08:00", "payload": {"case_no": "C-1"}}')
    >>> effects = engine.apply(line)
    >>> [type(e).__name__ for e in effects][:3]
    ['Accepted', 'StateChanged', 'ScoreChanged']
    >>> [(e.update.rule, e.update.change) for e in effects if isinstance(e, fx.WarningChanged)]
    [('dishonest_debtor_listed', 'opened'), ('grade_downgrade', 'opened'),
     ('score_drop', 'opened'), ('first_negative_record', 'opened')]
    >>> [type(e).__name__ for e in engine.apply(line)], engine.counters.messages
    (['Duplicate'], 2)
    >>> engine.subjects["91350100M000100Y43"].state.score
    800
    """

    def __init__(
        self,
        subjects: Subjects,
        ctx: ParseContext,
        scorecard: ScorecardConfig,
        policies: PolicySet | None = None,
        model: Models | None = None,
        max_bytes: int = 1024 * 1024,
        count_series: bool = False,
        new_subject: Callable[[CreditEvent], SubjectRecord] = SubjectRecord.for_event,
        snoozes: SnoozeSet | None = None,
        shadows: ShadowSet | None = None,
    ) -> None:
        self.subjects = subjects
        #: Subject id -> its open warnings, kept in the subject's own record.
        self.alert_states = AlertStates(subjects)
        self.new_subject = new_subject
        self.ctx = ctx
        self.scorecard = scorecard
        self.policies = policies if policies is not None else PolicySet()
        self.snoozes = snoozes if snoozes is not None else SnoozeSet()
        self.shadows = shadows if shadows is not None else ShadowSet()
        self.model: Models | None = model
        self.max_bytes = max_bytes
        self.count_series = count_series
        self.counters = Counters()
        self.clock = ExpiryClock()

    @property
    def watermark_ms(self) -> int:
        """The latest ``occurred_at`` accepted (or moment advanced to), epoch ms."""
        return self.clock.watermark_ms

    def restore(self) -> None:
        """Rebuild the watermark and the pending expiries from the states held now."""
        self.clock.rebuild(
            (subject_id, subject.state.as_of_ms, subject.state.next_change_ms)
            for subject_id, subject in self.subjects.items()
        )

    # --- one message ---------------------------------------------------------------------

    def apply(self, raw: bytes, origin: fx.Origin = _NO_ORIGIN) -> list[fx.Effect]:
        """Apply one wire message; ``origin`` is handed back in the effects about it."""
        out: list[fx.Effect] = []
        parsed = parse_event(raw, self.ctx, self.max_bytes)
        if isinstance(parsed, DeadLetter):
            self.counters.dead_letters += 1
            out.append(fx.DeadLettered(parsed, None, origin))
            return out
        self._apply_event(parsed, origin, out)
        # Event time moves with every message, not with a driver's batches: the
        # effects depend on the order of the messages alone.
        self._expire(out)
        return out

    def _apply_event(self, event: CreditEvent, origin: fx.Origin, out: list[fx.Effect]) -> None:
        subject_id = event.subject.id
        subject = self.subjects.get(subject_id)
        if subject is None:
            subject = self.new_subject(event)
        state = subject.state
        event_ms = to_epoch_ms(event.occurred_at)
        self._catch_up(subject_id, state, min(event_ms, self.clock.watermark_ms), out)
        wire = event_to_json(event)
        memo = _memo(wire, origin) if event.kind in _REFERRING else ""
        outcome = apply_event(state, event, self.scorecard, memo)
        if isinstance(outcome, Duplicate):
            self.counters.duplicates += 1
            event_id = str(event.event_id)
            out.append(fx.Duplicate(subject_id, event_id, wire, origin, _parked(state, event_id)))
            return
        self.subjects[subject_id] = subject
        if not isinstance(outcome, Applied):
            # The state remembers the rejected id (and may hold the event for later).
            self.counters.dead_letters += 1
            letter = rejected(event, outcome.reason, outcome.detail)
            out.append(fx.StateChanged(subject_id))
            if _parked(state, letter.event_id) is not None:
                out.append(fx.Parked(letter, subject_id, origin))
            else:
                out.append(fx.DeadLettered(letter, subject_id, origin))
            return
        self.counters.applied += 1
        record = Record.from_event(event)
        out.append(fx.Accepted(subject_id, record, wire, origin))
        out.append(fx.StateChanged(subject_id))
        if self.count_series:
            out.append(fx.SeriesCounted(state.sector, state.district, event.kind, event_ms))
        for late in outcome.released:
            self._released(subject_id, state, late, out)
        as_of = max(state.as_of_ms, event_ms)
        self._rescore(subject_id, state, as_of, record.event_id, "event", out, record)
        self.clock.see(event_ms)

    def _released(
        self, subject_id: str, state: EntityState, late: ReleasedRecord, out: list[fx.Effect]
    ) -> None:
        """A parked repair or objection whose record has arrived: settle its dead letter."""
        wire, origin = _unmemo(late.memo)
        record = late.record
        if isinstance(late.outcome, Applied):
            self.counters.applied += 1
            self.counters.dead_letters -= 1  # counted when it was parked
            self.clock.see(record.occurred_at)
            out.append(fx.Accepted(subject_id, record, wire, origin))
            out.append(fx.Released(subject_id, record.event_id, wire, origin, applied=True))
            if self.count_series:
                out.append(
                    fx.SeriesCounted(state.sector, state.district, record.kind, record.occurred_at)
                )
            return
        letter = DeadLetter(late.outcome.reason, late.outcome.detail, wire, record.event_id)
        out.append(
            fx.Released(subject_id, record.event_id, wire, origin, applied=False, letter=letter)
        )

    # --- policy changes ------------------------------------------------------------------

    def change_policies(self, policies: PolicySet, at_ms: int | None = None) -> list[fx.Effect]:
        """Put ``policies`` in force; re-judge the open warnings whose policy it changes.

        A subject is re-judged when one of its open warnings' rules resolves
        differently for its sector and district under the new set: a raised
        threshold can resolve a warning, a lowered one escalate it, without waiting
        for the subject's next event. The re-judging happens at event time
        ``at_ms`` (the change's time), but never past the watermark, so that it
        enters the order of events where the driver hands it in, and never before
        the subject's own latest re-scoring. No model is asked: their warnings
        neither open nor resolve on a policy change.
        """
        previous, self.policies = self.policies, policies
        out: list[fx.Effect] = []
        moment = self.clock.watermark_ms if at_ms is None else min(at_ms, self.clock.watermark_ms)
        for subject_id in sorted(_with_open_warnings(self.subjects)):
            alerts = self.alert_states[subject_id]
            state = self.subjects[subject_id].state
            old = previous.resolve_all(state.sector, state.district)
            new = policies.resolve_all(state.sector, state.district)
            if all(old[rule] == new[rule] for rule in alerts.open):
                continue
            at = max(state.as_of_ms, moment)
            self._catch_up(subject_id, state, at, out)
            now = last_score(state)
            if now is None:
                continue
            self._judge(subject_id, Transition.of(state, now, now, at), out)
        return out

    # --- event time ----------------------------------------------------------------------

    def advance(self, until_ms: int | None = None) -> list[fx.Effect]:
        """Let event time run on to ``until_ms``: re-score the subjects whose scores change by then.

        :meth:`apply` already expires what each message's time reaches; this is for a
        replay that lets time run past its last event, and for a driver whose states
        were just restored (``until_ms`` ``None``: up to the watermark).
        """
        out: list[fx.Effect] = []
        if until_ms is not None:
            self.clock.see(until_ms)
        self._expire(out)
        return out

    def _expire(self, out: list[fx.Effect]) -> None:
        for due, subject_id in self.clock.due():
            subject = self.subjects.get(subject_id)
            if subject is None or subject.state.next_change_ms != due:
                continue  # stale entry: the subject was re-scored since
            self._catch_up(subject_id, subject.state, self.clock.watermark_ms, out)

    def _catch_up(
        self, subject_id: str, state: EntityState, until_ms: int, out: list[fx.Effect]
    ) -> None:
        """Re-score ``state`` at each of its own changes up to ``until_ms``."""
        while state.next_change_ms is not None and state.next_change_ms <= until_ms:
            self.counters.expiries += 1
            self._rescore(subject_id, state, state.next_change_ms, "", "expiry", out)
            out.append(fx.StateChanged(subject_id))

    # --- re-scoring ----------------------------------------------------------------------

    def _rescore(
        self,
        subject_id: str,
        state: EntityState,
        as_of_ms: int,
        event_id: str,
        cause: str,
        out: list[fx.Effect],
        record: Record | None = None,
    ) -> None:
        before = last_score(state)
        scored = evaluate(state, as_of_ms, self.scorecard)
        state.record_score(scored, as_of_ms)
        if scored.next_change_at is not None:
            self.clock.schedule(scored.next_change_at, subject_id)
        if before is None or scored.score != before.score or scored.reasons != before.reasons:
            self.counters.score_changes += 1
            out.append(
                fx.ScoreChanged(
                    subject_id,
                    state.subject_type,
                    state.subject_name,
                    state.sector,
                    state.district,
                    as_of_ms,
                    scored.score,
                    scored.grade,
                    before.score if before else None,
                    before.grade if before else None,
                    event_id,
                    cause,
                    scored.reasons,
                    len(state.records),
                    state.last_event_at,
                    state.version,
                )
            )
        anomaly = probability = None
        explain = None
        if self.model is not None:
            anomaly, probability = self._ask_models(self.model, state, scored, as_of_ms, record)
            out.append(fx.ModelOpinion(subject_id, as_of_ms, anomaly, probability))
            if anomaly is not None or probability is not None:
                # Asked by the rules only when a model warning changes: why it scored so.
                explain = getattr(self.model, "explain", None)
        transition = Transition.of(
            state,
            before,
            scored,
            as_of_ms,
            record,
            anomaly_score=anomaly,
            default_probability=probability,
            explain=explain,
        )
        self._judge(subject_id, transition, out)

    def _ask_models(
        self,
        model: Models,
        state: EntityState,
        scored: ScoreResult,
        as_of_ms: int,
        record: Record | None,
    ) -> tuple[float | None, float | None]:
        """The models' opinion of a re-scoring; a failing model never stops the scoring.

        A model that raises (say, restored from a checkpoint an older version wrote)
        is replaced by a fresh one, which learns from scratch; if that one fails too,
        the engine goes on with the rules alone. Each failure is logged.
        """
        try:
            return model.observe(state, scored, as_of_ms, record, policies=self.policies)
        except Exception:
            self.counters.model_errors += 1
            if self.counters.model_errors > 1:
                log.exception("early-warning models failed again; going on with the rules alone")
                self.model = None
                return None, None
            log.exception("early-warning models failed; starting them afresh")
            self.model = EarlyWarning(model.feature_states)
            return None, None

    def _judge(self, subject_id: str, transition: Transition, out: list[fx.Effect]) -> None:
        """Let the warning rules look at the transition; say what they open, raise or close."""
        alerts = self.alert_states.get(subject_id)
        fresh = alerts is None
        if alerts is None:
            alerts = AlertState()
        if self.shadows:  # before the live judging: a new shadow starts from the live state
            self._judge_shadows(subject_id, alerts, transition, out)
        updates = judge(alerts, transition, self.policies)
        if alerts or not fresh:
            self.alert_states[subject_id] = alerts
            out.append(fx.StateChanged(subject_id))
        if self.shadows:  # the live side of each shadow's comparison
            for name in self.shadows.sets(self.policies):
                for update in updates:
                    out.append(fx.ShadowWarningChanged(name, update, transition.at_ms, True))
        snoozes = self.snoozes
        for update in updates:
            self.counters.alert_changes += 1
            # Decided here, on event time, so every driver holds back the same changes.
            held = snoozes.hold(subject_id, update, transition.at_ms)
            out.append(fx.WarningChanged(held, transition.at_ms))

    def _judge_shadows(
        self, subject_id: str, live: AlertState, transition: Transition, out: list[fx.Effect]
    ) -> None:
        """Judge the transition under each shadow set, with the shadow's own open warnings."""
        kept = self.subjects[subject_id].shadows
        sets = self.shadows.sets(self.policies)
        for ended in [name for name in kept if name not in sets]:
            del kept[ended]
        for name, policies in sets.items():
            alerts = kept.get(name)
            if alerts is None:
                alerts = kept[name] = _copy(live)
            for update in judge(alerts, transition, policies):
                out.append(fx.ShadowWarningChanged(name, update, transition.at_ms))
        out.append(fx.StateChanged(subject_id))


def _copy(alerts: AlertState) -> AlertState:
    return AlertState.from_doc(alerts.to_doc())


def _with_open_warnings(subjects: Subjects) -> list[str]:
    """The ids of the subjects that hold open warnings (their JSON is not parsed to know)."""
    found = []
    for subject_id, subject in subjects.items():
        alerts = subject.alerts
        if isinstance(alerts, str) and '"o"' in alerts:
            found.append(subject_id)
        elif isinstance(alerts, AlertState) and alerts.open:
            found.append(subject_id)
    return found


def _memo(wire: bytes, origin: fx.Origin) -> str:
    """What a parked event needs to be said again later: its wire JSON and its origin."""
    return orjson.dumps({"w": wire.decode(), "s": list(origin)}).decode()


def _unmemo(memo: str) -> tuple[bytes, fx.Origin]:
    """The inverse of :func:`_memo` (an empty memo: nothing known)."""
    if not memo:
        return b"", ()
    doc = orjson.loads(memo)
    wire: str = doc["w"]
    return wire.encode(), tuple(doc["s"])


def _parked(state: EntityState, event_id: str) -> fx.Origin | None:
    """The origin of a still parked event with this id, if it is parked."""
    for parked in state.parked:
        if parked.record.event_id == event_id:
            return _unmemo(parked.memo)[1]
    return None
