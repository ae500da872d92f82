"""Scoring a file of events without a broker or a store: the reference the stream must match.

:func:`score_lines` reads wire messages in order, passes each through the same
door as the stream (:func:`~creditbrain.schemas.parse.parse_event`), applies the
accepted ones to per-subject states with :func:`~creditbrain.models.scorecard.apply_event`
and scores every subject that has a record, as of one moment (by default the
latest ``occurred_at`` applied). Nothing is dropped silently: every message is
applied, a duplicate, or rejected with a reason, and the counts add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

from creditbrain.models.scorecard import (
    Applied,
    Duplicate,
    ScorecardConfig,
    apply_event,
    evaluate,
)
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.parse import DeadLetter, Reason, parse_event
from creditbrain.schemas.state import EntityState, ScoreResult


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
    states: dict[str, EntityState] = {}
    rejected: Counter[Reason] = Counter()
    applied = duplicates = 0
    for raw in lines:
        event = parse_event(raw, ctx, max_bytes)
        if isinstance(event, DeadLetter):
            rejected[event.reason] += 1
            continue
        state = states.get(event.subject.id)
        if state is None:
            state = states[event.subject.id] = EntityState.for_event(event)
        outcome = apply_event(state, event, config)
        if isinstance(outcome, Applied):
            applied += 1
            for late in outcome.released:
                # It was counted as unknown_reference when parked.
                rejected[Reason.UNKNOWN_REFERENCE] -= 1
                if isinstance(late.outcome, Applied):
                    applied += 1
                else:
                    rejected[late.outcome.reason] += 1
        elif isinstance(outcome, Duplicate):
            duplicates += 1
        else:
            rejected[outcome.reason] += 1
    scored = {subject_id: state for subject_id, state in states.items() if state.records}
    if as_of_ms is None and scored:
        as_of_ms = max(state.records[-1].occurred_at for state in scored.values())
    results = {
        subject_id: evaluate(state, as_of_ms, config)
        for subject_id, state in scored.items()
        if as_of_ms is not None
    }
    return OfflineScores(states, results, rejected, applied, duplicates, as_of_ms)
