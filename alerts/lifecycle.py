"""One alert per (subject, rule): opening, repeats, escalation, resolution.

:func:`judge` is called for every transition of a subject with the subject's
:class:`AlertState` (kept next to its entity state) and the policies of the moment.
It re-judges every rule, changes the state in place and returns what happened as
:class:`AlertUpdate` values, each with its CloudEvent:

* no alert open and the condition holds: **opened** (an enabled rule only);
* open, the condition holds at a higher level: **escalated** (never lowered);
* open, a new cause (:attr:`News.REPEAT <creditbrain.alerts.rules.base.News>`: another
  listing, another penalty of the burst, a further fall): **updated**; sent again
  (same alert id and type, a new version and so a new CloudEvents id, fresh data)
  only once the cooldown since the alert was last sent has passed, else only stored;
* open, the same cause with fresh data (``News.UPDATE``: a new report of the same
  arrears): **updated**, stored, never sent;
* open and the condition no longer holds: **resolved**, also when the rule has
  been disabled meanwhile (a disabled rule's open alert is neither updated nor
  escalated, but still resolves when its cause stops counting: disabling does
  not pretend the cause is gone);
* open, holding, nothing new: nothing.

Alert ids are uuid5 over the subject, the rule and the opening transition (event
time and event id), so a replay or a redelivery produces the same ids. Times are
event times: cooldowns run on ``occurred_at``, never on the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple
from uuid import NAMESPACE_DNS, uuid5

import orjson

from creditbrain.alerts.history import Peaks, remember
from creditbrain.alerts.policy import PolicySet, RulePolicy
from creditbrain.alerts.routing import DataDoc, WarningDoc, for_grid, reason_docs, warning_doc
from creditbrain.alerts.rules import (
    DAY_MS,
    RULE_NAMES,
    RULES,
    UNDECIDED,
    Check,
    Finding,
    News,
    RuleName,
    higher,
)
from creditbrain.alerts.transition import CLEAN, Facts, Transition
from creditbrain.schemas.warnings import LEVEL_RANK, Level, WarningEvent, format_time

#: Namespace of alert ids (uuid5).
ALERT_NAMESPACE = uuid5(NAMESPACE_DNS, "alerts.creditbrain.cn")
#: Version of the JSON form of :class:`AlertState`.
ALERT_STATE_FORMAT = 1

Change = Literal["opened", "escalated", "updated", "resolved"]


#: The rules whose warnings carry the model's explanation.
_MODEL_RULES = frozenset(("anomalous_deterioration", "predicted_serious_default"))


def alert_id(subject_id: str, rule: str, at_ms: int, event_id: str | None) -> str:
    """The stable id of the alert that ``rule`` opens for a subject at a transition.

    >>> alert_id("91350100M000100Y43", "wage_arrears", 0, "e1") == alert_id(
    ...     "91350100M000100Y43", "wage_arrears", 0, "e1")
    True
    """
    return str(uuid5(ALERT_NAMESPACE, f"{subject_id}\x1f{rule}\x1f{at_ms}\x1f{event_id or ''}"))


@dataclass(slots=True)
class OpenAlert:
    """What is remembered of an open alert.

    ``notified_ms`` is when it was last sent (opening, escalation or reminder), from
    which the cooldown runs; ``version`` counts its updates (ClickHouse's
    ReplacingMergeTree keeps the highest); ``grid``: it has been sent to the grid,
    which then also gets its escalation and resolution.
    """

    rule: RuleName
    alert_id: str
    level: Level
    status: Literal["open", "escalated"]
    first_event_ms: int
    notified_ms: int
    version: int = 1
    anchor: int | None = None
    grid: bool = False


@dataclass(slots=True)
class AlertState:
    """A subject's open alerts (by rule) and its score peaks; empty for most subjects.

    >>> state = AlertState()
    >>> state.open["wage_arrears"] = OpenAlert("wage_arrears", "a1", "orange", "open", 5, 5)
    >>> AlertState.from_json(state.to_json()) == state, AlertState().to_json()
    (True, b'{"f":1}')
    """

    open: dict[RuleName, OpenAlert] = field(default_factory=dict)
    peaks: Peaks = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.open or self.peaks)

    def to_doc(self) -> dict[str, object]:
        """Compact JSON values: alerts and peaks as arrays, empty parts left out."""
        doc: dict[str, object] = {"f": ALERT_STATE_FORMAT}
        if self.open:
            doc["o"] = [
                [a.rule, a.alert_id, a.level, a.status, a.first_event_ms, a.notified_ms]
                + [a.version, a.anchor, int(a.grid)]
                for a in self.open.values()
            ]
        if self.peaks:
            doc["p"] = self.peaks
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, object]) -> AlertState:
        """The inverse of :meth:`to_doc`."""
        if doc.get("f") != ALERT_STATE_FORMAT:
            raise ValueError(f"unknown alert state format {doc.get('f')!r}")
        rows = doc.get("o", [])
        peaks = doc.get("p", [])
        if not isinstance(rows, list) or not isinstance(peaks, list):
            raise ValueError("alert state: 'o' and 'p' must be arrays")
        alerts = [_open_alert(row) for row in rows]
        return cls({a.rule: a for a in alerts}, [(int(s), int(e)) for s, e in peaks])

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_doc())

    @classmethod
    def from_json(cls, data: bytes | str) -> AlertState:
        return cls.from_doc(orjson.loads(data))


_RULES: dict[str, RuleName] = {rule: rule for rule in RULE_NAMES}
_LEVELS: dict[str, Level] = {"red": "red", "orange": "orange", "yellow": "yellow", "blue": "blue"}
_STATUSES: dict[str, Literal["open", "escalated"]] = {"open": "open", "escalated": "escalated"}


def _open_alert(row: list[Any]) -> OpenAlert:
    # The vocabulary maps check the values and share one string object per word.
    rule, alert, level, status, first, notified, version, anchor, grid = row
    try:
        return OpenAlert(
            _RULES[rule],
            alert,
            _LEVELS[level],
            _STATUSES[status],
            first,
            notified,
            version,
            anchor,
            bool(grid),
        )
    except KeyError as error:
        raise ValueError(f"alert state: unknown value {error}") from None


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """One change of one alert, ready to send and store.

    Parameters
    ----------
    change
        ``opened``, ``escalated``, ``updated`` (a repeat) or ``resolved``.
    notify
        Send ``body`` to ``credit.warnings`` (and the webhooks); ``False`` for a
        repeat within the cooldown, which is only stored.
    grid
        Also send ``grid_body`` to ``credit.warnings.grid``.
    version
        The alert's version after this change (1 when opened).
    doc
        The CloudEvent as JSON values (:attr:`warning` is the validated model).
    body
        Its JSON bytes.
    grid_body
        The bytes for the grid (a person's name masked unless the policy reveals
        it); ``None`` when not routed there.
    snoozed
        Held back by a snooze (:mod:`.snooze`): stored, marked, not delivered.
    """

    change: Change
    notify: bool
    grid: bool
    version: int
    doc: WarningDoc
    body: bytes
    grid_body: bytes | None
    snoozed: bool = False

    @property
    def alert_id(self) -> str:
        """The alert's stable id (``alertid``; the CloudEvents ``id`` names the change)."""
        return self.doc["data"]["alert_id"]

    @property
    def rule(self) -> RuleName:
        return self.doc["data"]["rule"]

    @property
    def key(self) -> bytes:
        """The message key: the subject id."""
        subject: str = self.doc["subject"]
        return subject.encode()

    @property
    def warning(self) -> WarningEvent:
        """The CloudEvent as a validated model (built on each access: the hot path has no need)."""
        return WarningEvent.model_validate(self.doc)


def judge(state: AlertState, transition: Transition, policies: PolicySet) -> list[AlertUpdate]:
    """Re-judge every rule for ``transition``; update ``state`` in place; return the changes.

    Policies are resolved for the subject's sector and district at the transition.
    The result is ordered by rule (DOMAIN.md's order).
    """
    plan = _plan(policies, transition.sector, transition.district)
    opened = state.open
    after = transition.after
    if not opened and not after.reasons:
        # A clean record scores 1000, grade A: no record rule holds, no score has dropped
        # (every peak is gone), and only a model can speak. The common case, kept short.
        state.peaks.clear()
        anomaly, probability = transition.anomaly_score, transition.default_probability
        if (anomaly is None or anomaly < plan.anomaly_threshold) and (
            probability is None or probability < plan.probability_threshold
        ):
            return []
    before = transition.before
    peaks = state.peaks
    if peaks or before is None or after.score < before.score:
        at = transition.at_ms
        before_score = CLEAN.score if before is None else before.score
        remember(peaks, before_score, after.score, at, at - plan.window_ms)
    facts = Facts(transition, peaks)
    updates: list[AlertUpdate] = []
    for name, check, policy, requires in plan.steps:
        alert = opened.get(name)
        if alert is None:
            if not policy.enabled or (requires and not facts.reasons_of(requires)):
                continue
            found = check(facts, policy, None)
            if found is not None and found is not UNDECIDED:
                opened[name] = alert = _new_alert(facts, name, found, policy)
                updates.append(_update(facts, alert, "opened", found.causes, policy))
            continue
        found = check(facts, policy, alert.anchor)
        if found is UNDECIDED:
            continue
        if found is None:
            del opened[name]
            updates.append(_resolution(facts, alert, policy))
        elif policy.enabled and (found.news or LEVEL_RANK[found.level] > LEVEL_RANK[alert.level]):
            updates.append(_follow(facts, alert, found, policy))
    return updates


class _Plan(NamedTuple):
    """The rules with their policies for one place, and the numbers judge reads first."""

    steps: tuple[tuple[RuleName, Check, RulePolicy, str], ...]
    window_ms: int  # the longest score history score_drop asks for
    anomaly_threshold: float  # infinite when the rule is off
    probability_threshold: float


# Plans by set identity, then place (as PolicySet's own resolution cache); bounded.
_PLANS: dict[int, tuple[PolicySet, dict[tuple[str, str], _Plan]]] = {}
_LIMIT = 64


def _plan(policies: PolicySet, sector: str, district: str) -> _Plan:
    entry = _PLANS.get(id(policies))
    if entry is None or entry[0] is not policies:
        if len(_PLANS) >= _LIMIT:
            _PLANS.clear()
        entry = _PLANS[id(policies)] = (policies, {})
    plan = entry[1].get((sector, district))
    if plan is None:
        rules = policies.resolve_all(sector, district)
        anomaly, probability = rules["anomalous_deterioration"], rules["predicted_serious_default"]
        plan = _Plan(
            tuple(
                (name, rule.check, rules[name], rule.requires or "")
                for name, rule in RULES.items()
                if rule.check is not None
            ),
            int(rules["score_drop"].thresholds["window_days"] * DAY_MS),
            anomaly.thresholds["threshold"] if anomaly.enabled else math.inf,
            probability.thresholds["probability"] if probability.enabled else math.inf,
        )
        if len(entry[1]) >= _LIMIT * _LIMIT:
            entry[1].clear()
        entry[1][sector, district] = plan
    return plan


def _new_alert(facts: Facts, rule: RuleName, found: Finding, policy: RulePolicy) -> OpenAlert:
    t = facts.transition
    times = [facts.occurred_at(reason.event_id) for reason in found.causes]
    first = min([ms for ms in times if ms is not None], default=t.at_ms)
    event_id = None if t.event is None else t.event.event_id
    return OpenAlert(
        rule,
        alert_id(t.subject_id, rule, t.at_ms, event_id),
        found.level,
        "open",
        first,
        t.at_ms,
        anchor=found.anchor,
        grid=policy.grid,
    )


def _follow(facts: Facts, alert: OpenAlert, found: Finding, policy: RulePolicy) -> AlertUpdate:
    """An escalation, or a repeat or update (``found`` brings news)."""
    at = facts.transition.at_ms
    if higher(found.level, alert.level):
        alert.level, alert.status, alert.notified_ms = found.level, "escalated", at
        alert.version += 1
        alert.grid = alert.grid or policy.grid
        return _update(facts, alert, "escalated", found.causes, policy)
    alert.version += 1
    cooled = at - alert.notified_ms >= policy.cooldown_days * DAY_MS
    notify = found.news is News.REPEAT and cooled
    if notify:
        alert.notified_ms = at
        alert.grid = alert.grid or policy.grid
    return _update(facts, alert, "updated", found.causes, policy, notify)


def _resolution(facts: Facts, alert: OpenAlert, policy: RulePolicy) -> AlertUpdate:
    # The reason a warning resolves is the event that ended its cause (repair, exit,
    # clearing...), with its own effect; a publicity expiry has no event and no reason.
    event = facts.transition.event
    reasons: tuple[tuple[str, str, int], ...] = ()
    if event is not None:
        effect = next((r.effect for r in facts.after.reasons if r.event_id == event.event_id), 0)
        reasons = ((event.event_id, event.kind, effect),)
    alert.version += 1
    alert.grid = alert.grid or policy.grid
    return _update(facts, alert, "resolved", reasons, policy)


def _update(
    facts: Facts,
    alert: OpenAlert,
    change: Change,
    reasons: Iterable[tuple[str, str, int]],
    policy: RulePolicy,
    notify: bool = True,
) -> AlertUpdate:
    t = facts.transition
    data: DataDoc = {
        "alert_id": alert.alert_id,
        "version": alert.version,
        "level": alert.level,
        "rule": alert.rule,
        "subject": {"type": t.subject_type.value, "id": t.subject_id, "name": t.subject_name},
        "sector": t.sector,
        "district": t.district,
        "score": facts.after.score,
        "grade": facts.after.grade,
        "previous_grade": facts.before.grade,
        "reasons": reason_docs(reasons),
        "first_event_at": format_time(alert.first_event_ms),
        "status": "resolved" if change == "resolved" else alert.status,
    }
    if t.explain is not None and alert.rule in _MODEL_RULES:
        data["explanation"] = [dict(item) for item in t.explain(alert.rule)]
    doc = warning_doc(data, t.at_ms)
    grid = notify and alert.grid
    grid_body = orjson.dumps(for_grid(doc, policy.reveal_person_names)) if grid else None
    return AlertUpdate(change, notify, grid, alert.version, doc, orjson.dumps(doc), grid_body)
