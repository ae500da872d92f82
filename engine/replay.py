"""Drivers of the engine for a file of wire messages: final scores, and the warnings a policy gives.

:func:`score_lines` is ``creditbrain score``: every message through the engine in
file order, then every subject scored as of one moment. :func:`backtest` is
``creditbrain backtest``: every warning change the stream would publish for the
same messages under a candidate policy set, in event-time order, with a summary.
Both count every message exactly once (applied, duplicate, or dead letter by
reason), with the same engine the worker runs.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from creditbrain.alerts import AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.snooze import SnoozeSet
from creditbrain.core.eventtime import day_of, to_epoch_ms
from creditbrain.models.scorecard import ScorecardConfig, evaluate
from creditbrain.models.series.watch import SeriesWatch, district_counts
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.state import EntityState, ScoreResult

from . import effects as fx
from .engine import Counters, Engine
from .subject import SubjectRecord

__all__ = [
    "Backtest",
    "OfflineScores",
    "backtest",
    "count_verdict",
    "score_lines",
    "warning_change",
]


class OfflineScores(NamedTuple):
    """What :func:`score_lines` found.

    Parameters
    ----------
    states
        Subject id -> state, for every subject named by a parsed event (also those
        whose only events were rejected against their state).
    results
        Subject id -> score as of the run's moment, for every subject with a record.
    rejected
        Dead-letter reason -> number of messages.
    applied
        Messages applied.
    duplicates
        Messages whose event id had already been applied or rejected for the subject.
    as_of_ms
        The moment scored (``None`` when nothing was applied and none was given).
    """

    states: dict[str, EntityState]
    results: dict[str, ScoreResult]
    rejected: Counter[Reason]
    applied: int
    duplicates: int
    as_of_ms: int | None


def count_verdict(effect: fx.Effect, rejected: Counter[Reason]) -> None:
    """Keep ``rejected`` (dead letters by reason) up to date with one effect.

    A parked event counts as ``unknown_reference`` until it is released: then it
    leaves that count, for no reason when applied, for its final one otherwise.
    """
    match effect:
        case fx.DeadLettered(letter) | fx.Parked(letter):
            rejected[letter.reason] += 1
        case fx.Released(applied=applied, letter=letter):
            rejected[Reason.UNKNOWN_REFERENCE] -= 1
            if not applied and letter is not None:
                rejected[letter.reason] += 1


def score_lines(
    lines: Iterable[bytes],
    ctx: ParseContext,
    config: ScorecardConfig,
    as_of_ms: int | None = None,
    max_bytes: int = 1024 * 1024,
) -> OfflineScores:
    """Apply wire messages in order and score every subject as of one moment.

    Parameters
    ----------
    lines
        One wire message each (blank lines are the caller's to drop).
    ctx
        The validation context of the deployment.
    config
        The scorecard.
    as_of_ms
        Score as of this moment (epoch ms); ``None``: the latest ``occurred_at``
        among the applied events.
    max_bytes
        Messages over this size are ``too_large``.

    Examples
    --------
    >>> from creditbrain.models.scorecard import DEFAULT_SCORECARD
    >>> line = (b'{"schema_version": 1, "event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",'
    ...   b' "kind": "dishonest_debtor", "subject": {"type": "enterprise",'
    ...   b' "id": "91350100M000100Y43"}, "source": "court", "sector": "finance",'
    ...   b' "district": "371102", "occurred_at": "2026-03-04T09:30:00+08:00",'
    ...   b' "reported_at": "2026-03-04T09:30:00+08:00", "payload": {"case_no": "C-1"}}')
    >>> run = score_lines([line, line, b"{oops"], ParseContext(b"k"), DEFAULT_SCORECARD)
    >>> run.results["91350100M000100Y43"].score, run.applied, run.duplicates, dict(run.rejected)
    (800, 1, 1, {<Reason.BAD_JSON: 'bad_json'>: 1})
    """
    subjects: dict[str, SubjectRecord] = {}
    engine = Engine(subjects, ctx, config, max_bytes=max_bytes)
    rejected: Counter[Reason] = Counter()
    for raw in lines:
        for effect in engine.apply(raw):
            count_verdict(effect, rejected)
    states = {subject_id: subject.state for subject_id, subject in subjects.items()}
    scored = {subject_id: state for subject_id, state in states.items() if state.records}
    if as_of_ms is None and scored:
        as_of_ms = max(state.records[-1].occurred_at for state in scored.values())
    results: dict[str, ScoreResult] = {}
    if as_of_ms is not None:
        # Letting time run on gives the same scores as asking the scorecard directly
        # (every state is then scored as of a moment before its next change); the
        # question is asked directly so that a moment in the past can be asked too.
        engine.advance(as_of_ms)
        results = {s: evaluate(state, as_of_ms, config) for s, state in scored.items()}
    counters = engine.counters
    return OfflineScores(
        states, results, +rejected, counters.applied, counters.duplicates, as_of_ms
    )


@dataclass
class Backtest:
    """The summary of a :func:`backtest` run (its last line in ``creditbrain backtest``)."""

    counters: Counters
    #: Warnings sent at each level: openings, and escalations at the level reached.
    warnings_by_level: Counter[str] = field(default_factory=Counter)
    #: Warnings opened per rule.
    warnings_by_rule: Counter[str] = field(default_factory=Counter)
    rejected: Counter[Reason] = field(default_factory=Counter)
    seconds: float = 0.0
    #: The subjects at the end of the run (final scores, open warnings).
    subjects: dict[str, SubjectRecord] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The summary object of the command's output."""
        counters = self.counters
        return {
            "messages": counters.messages,
            "applied": counters.applied,
            "duplicates": counters.duplicates,
            "dead_letters": counters.dead_letters,
            "dead_letters_by_reason": {r.value: n for r, n in sorted(self.rejected.items())},
            "expiries": counters.expiries,
            "warnings_by_level": dict(sorted(self.warnings_by_level.items())),
            "warnings_by_rule": dict(sorted(self.warnings_by_rule.items())),
            "events_per_s": round(counters.messages / self.seconds) if self.seconds else None,
        }


def backtest(
    lines: Iterable[bytes],
    ctx: ParseContext,
    config: ScorecardConfig,
    policies: PolicySet,
    model: EarlyWarning | None = None,
    until_ms: int | None = None,
    max_bytes: int = 1024 * 1024,
    watch: SeriesWatch | None = None,
    batch_size: int = 1000,
    snoozes: SnoozeSet | None = None,
) -> tuple[list[dict[str, Any]], Backtest]:
    """Every warning change the stream would publish for ``lines`` under ``policies``.

    Returns the changes as JSON-ready objects sorted by event time (stable: changes
    at one moment keep the order in which the stream would send them), and the
    summary. ``until_ms`` lets event time run on after the last message, so that
    publicity periods end and the warnings they held resolve. ``watch`` is the
    city-level series watch (``metric_anomaly``): it is handed the daily counts of
    every ``batch_size`` messages, as the worker hands it each batch's; days still
    within its grace at the end stay open, as in the stream. ``snoozes``: the changes
    they hold back are marked ``"snoozed": true`` and not sent, as in the stream.
    """
    subjects: dict[str, SubjectRecord] = {}
    engine = Engine(
        subjects,
        ctx,
        config,
        policies,
        model,
        max_bytes=max_bytes,
        count_series=watch is not None,
        snoozes=snoozes,
    )
    summary = Backtest(engine.counters, subjects=subjects)
    changes: list[tuple[int, dict[str, Any]]] = []

    def note(update: AlertUpdate, at_ms: int) -> None:
        change = warning_change(update)
        changes.append((at_ms, change))
        _tally(summary, change)

    counts: Counter[tuple[str, str, str, int]] = Counter()
    started = time.perf_counter()
    for step, effects in enumerate(_steps(engine, lines, until_ms), start=1):
        for effect in effects:
            match effect:
                case fx.WarningChanged(update, at_ms):
                    note(update, at_ms)
                case fx.SeriesCounted(sector, district, kind, occurred_at_ms):
                    counts[(sector, district, kind, day_of(occurred_at_ms))] += 1
                case _:
                    count_verdict(effect, summary.rejected)
        if watch is not None and counts and step % batch_size == 0:
            for update in _watch_counts(watch, counts):
                note(update, to_epoch_ms(datetime.fromisoformat(update.doc["time"])))
    if watch is not None and counts:
        for update in _watch_counts(watch, counts):
            note(update, to_epoch_ms(datetime.fromisoformat(update.doc["time"])))
    summary.seconds = time.perf_counter() - started
    summary.rejected = +summary.rejected
    changes.sort(key=lambda pair: pair[0])
    return [change for _, change in changes], summary


def _steps(
    engine: Engine, lines: Iterable[bytes], until_ms: int | None
) -> Iterator[list[fx.Effect]]:
    for raw in lines:
        yield engine.apply(raw)
    if until_ms is not None:
        yield engine.advance(until_ms)


@dataclass(frozen=True, slots=True)
class _Counts:
    """Partial counts as the series watch reads them from its topic (one partition here)."""

    value: bytes
    partition: int = 0
    offset: int = -1


def _watch_counts(
    watch: SeriesWatch, counts: Counter[tuple[str, str, str, int]]
) -> list[AlertUpdate]:
    """Hand the counts gathered so far to the series watch; the warnings of the days it closes."""
    batch = [_Counts(value) for _, value in district_counts(counts)]
    counts.clear()
    return watch.process(batch)


def warning_change(update: AlertUpdate) -> dict[str, Any]:
    """One warning change as a line of ``creditbrain backtest``."""
    data = update.doc["data"]
    subject = data["subject"]
    change = {
        "alert_id": update.alert_id,
        "version": update.version,
        "subject_id": subject["id"],
        "subject_type": subject["type"],
        "sector": data["sector"],
        "district": data["district"],
        "rule": data["rule"],
        "level": data["level"],
        "status": update.change,
        "time": update.doc["time"],
        "score": data["score"],
        "grade": data["grade"],
        "reasons": data["reasons"],
        "sent": update.notify,
    }
    if update.snoozed:  # only then: lines of runs without snoozes stay as they were
        change["snoozed"] = True
    return change


def _tally(summary: Backtest, change: dict[str, Any]) -> None:
    if change["status"] in ("opened", "escalated") and change["sent"]:
        summary.warnings_by_level[change["level"]] += 1
    if change["status"] == "opened":
        summary.warnings_by_rule[change["rule"]] += 1
