"""Early warnings (信用预警): rules, policies, and the life of each alert.

After every re-scoring of a subject the stream hands a :class:`Transition` (score
before and after, the records, the causing event, the models' outputs) to
:func:`judge` with the subject's :class:`AlertState` and the current
:class:`~creditbrain.schemas.policies.PolicySet`. Each rule of DOMAIN.md
(:mod:`.rules`) is a pure function saying whether its condition holds now and
because of which records; the lifecycle (:mod:`.lifecycle`) keeps at most one
open alert per subject and rule, opens, escalates, updates within a cooldown and
resolves it when its cause stops counting, and returns :class:`AlertUpdate`
values carrying the CloudEvent of CONTRACT.md §2 and its routing to the grid
(:mod:`.routing`). City-level series get their warnings from :func:`metric_alert`
(:mod:`.metric`). Everything runs on event time and yields stable alert ids, so a
replay reproduces the live warnings exactly.

Modules:

:mod:`.transition`
    a subject's transition: what the rules look at, once per re-scoring.
:mod:`.rules`
    the warning rules of DOMAIN.md, each a pure function of a transition.
:mod:`.history`
    the little score history ``score_drop`` needs.
:mod:`.lifecycle`
    one alert per subject and rule: opening, repeats, escalation, resolution.
:mod:`.routing`
    warnings as wire documents, and their copies for the grid.
:mod:`.metric`
    city-level warnings on a sector × district × kind series.
:mod:`.delivery`
    webhook delivery as rules without a network: who gets what, signed how,
    retried when.
"""

from __future__ import annotations

from .lifecycle import AlertState, AlertUpdate, OpenAlert, alert_id, judge
from .metric import SeriesKey, metric_alert
from .rules import RULES, UNDECIDED, Finding
from .transition import CLEAN, Facts, Transition, last_score

__all__ = [
    "CLEAN",
    "RULES",
    "UNDECIDED",
    "AlertState",
    "AlertUpdate",
    "Facts",
    "Finding",
    "OpenAlert",
    "SeriesKey",
    "Transition",
    "alert_id",
    "judge",
    "last_score",
    "metric_alert",
]
