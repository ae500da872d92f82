"""Early warnings (信用预警): rules, policies, and the life of each alert.

After every re-scoring of a subject the stream hands a :class:`Transition` (score
before and after, the records, the causing event, the models' outputs) to
:func:`judge` with the subject's :class:`AlertState` and the current
:class:`PolicySet`. Each rule of DOMAIN.md says whether its condition holds now and
because of which records; the lifecycle keeps at most one open alert per subject
and rule, opens, escalates, updates within a cooldown and resolves it when its
cause stops counting, and returns :class:`AlertUpdate` values carrying the
CloudEvent of CONTRACT.md §2 and its routing to the grid. Everything runs on event
time and yields stable alert ids, so a replay reproduces the live warnings exactly.

Where things are:

* :mod:`.rules` — one file per warning rule (``rules/wage_arrears.py``...): its
  name, Chinese term, default level, thresholds, grid routing, cooldown, the
  record kind it needs, its check and, for rules a single record makes red, its
  red events. :mod:`.rules.base` holds what they share (:class:`Finding`,
  ``News``, :data:`UNDECIDED`, the ``Rule`` they declare). The package collects
  the files into :data:`RULES`, :data:`RULE_NAMES` and ``RuleName``: adding a rule
  is adding a file.
* :mod:`.policy` — each rule's policy (:class:`RulePolicy`), supervisors'
  overrides per sector and district (:class:`PolicyOverride`) and the set that
  resolves them (:class:`PolicySet`, :data:`DEFAULT_POLICIES`), all built from the
  rules' files. Scope keys (``sector=...|district=...``) and ``PolicyError`` are
  wire vocabulary below this layer: :mod:`creditbrain.schemas.policies`.
* :mod:`.policy_changes` — messages of ``credit.policies`` and the audit of a change.
* :mod:`.transition` — a subject's re-scoring and the shared views of it the rules read.
* :mod:`.history` — the score peaks ``score_drop`` needs.
* :mod:`.lifecycle` — one alert per (subject, rule): :func:`judge`, alert ids.
* :mod:`.routing` — warnings as wire documents, the grid's masked copy.
* :mod:`.metric` — city-level ``metric_anomaly`` warnings about a series.
* :mod:`.delivery` — webhook delivery: who gets which warning, signed how, retried when.
* :mod:`.snooze` — snoozes: one subject's warnings stored but not delivered until
  an event-time moment.
* :mod:`.cases` — cases (案件): warnings per subject and team, owners, states,
  dispositions, deadlines in working time and the ``case_overdue`` notice.
* :mod:`.inspection` — the month's random inspection list by grade (双随机抽查).
"""

from __future__ import annotations

from .lifecycle import AlertState, AlertUpdate, OpenAlert, alert_id, judge
from .metric import MetricIncident, SeriesKey, judge_metric, metric_alert
from .policy import DEFAULT_POLICIES, PolicyOverride, PolicySet, RulePolicy, default_policy
from .rules import RULE_NAMES, RULES, UNDECIDED, Finding, Rule, RuleName
from .transition import CLEAN, Facts, Transition, last_score

__all__ = [
    "CLEAN",
    "DEFAULT_POLICIES",
    "RULES",
    "RULE_NAMES",
    "UNDECIDED",
    "AlertState",
    "AlertUpdate",
    "Facts",
    "Finding",
    "MetricIncident",
    "OpenAlert",
    "PolicyOverride",
    "PolicySet",
    "Rule",
    "RuleName",
    "RulePolicy",
    "SeriesKey",
    "Transition",
    "alert_id",
    "default_policy",
    "judge",
    "judge_metric",
    "last_score",
    "metric_alert",
]
