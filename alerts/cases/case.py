"""A case (案件): one subject's warnings for one team, from triage to disposal (处置).

A case gathers every warning about one subject that one regulator team owns
(:func:`case_id_of` is stable, so a warning delivered twice lands in the same case).
It takes the highest level of its warnings and moves through::

    new ──acknowledge──► acknowledged ──investigate──► investigating
     │                        │                             │
     └────────────────────────┴──────── dispose ────────────┴──► disposed
                                                                   │
                        investigating ◄──────── reopen ────────────┘

A disposal names a :data:`Disposition`. A warning that joins a disposed case
reopens it (state ``new``, a new round); one that joins an open case re-raises it
(``raised_at`` moves, deadlines can only come closer). Notes and attachments (by
reference: a URI or a document number, never the file) may be added in any state.

Every function here is pure and reckons in event time (epoch milliseconds): it
returns the new case and the :class:`Transition` to store, and never reads a clock.
Requests that come with an id (a disposition from the grid, an API call with an
idempotency key) are applied once: the case remembers the last ids it applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple, get_args
from uuid import UUID, uuid5

from creditbrain.alerts.cases.config import CaseConfig
from creditbrain.core.errors import CreditBrainError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.core.workdays import WorkCalendar
from creditbrain.schemas.warnings import LEVEL_RANK, Level, WarningEvent

CaseState = Literal["new", "acknowledged", "investigating", "disposed"]
Disposition = Literal[
    "confirmed_risk", "false_alarm", "handled_with_measures", "referred_to_grid", "duplicate"
]
Action = Literal["acknowledge", "investigate", "dispose", "reopen", "note"]
#: What a stored transition records: the actions, and what warnings and time do.
Event = Literal[
    "opened", "raised", "escalated", "acknowledged", "investigating", "disposed", "reopened",
    "noted", "overdue",
]  # fmt: skip
CASE_STATES: tuple[str, ...] = get_args(CaseState)
DISPOSITIONS: tuple[str, ...] = get_args(Disposition)
#: The rules whose warnings do not open cases: a case's own overdue notice, and the
#: city-level series, which name no subject.
NOT_CASES = frozenset({"case_overdue", "metric_anomaly"})
#: The actor of what the stream does to cases.
STREAM = "creditbrain/cases"

_NAMESPACE = UUID("0f6a3c52-5b1e-4d36-9c0e-7c2f1d8a4e90")
#: Request ids remembered per case: enough for a burst of redeliveries.
_REMEMBERED = 32


class CaseError(CreditBrainError, ValueError):
    """A transition the case's state does not allow (the API answers 409)."""


def case_id_of(subject_id: str, team: str) -> str:
    """The case of ``subject_id`` owned by ``team``: one per pair, stable.

    >>> case_id_of("91371100MA3C0001X1", "food_drug@371102") == case_id_of(
    ...     "91371100MA3C0001X1", "food_drug@371102")
    True
    """
    return str(uuid5(_NAMESPACE, f"{subject_id}\x1f{team}"))


@dataclass(frozen=True, slots=True)
class CaseAlert:
    """A warning the case holds, as last heard of."""

    alert_id: str
    rule: str
    level: Level
    status: str


@dataclass(frozen=True, slots=True)
class Case:
    """The state of one case; times are epoch milliseconds of event time."""

    case_id: str
    subject_id: str
    subject_type: str
    subject_name: str
    sector: str
    district: str
    team: str
    level: Level
    state: CaseState
    alerts: tuple[CaseAlert, ...]
    score: int
    grade: str
    opened_at: int
    raised_at: int
    acknowledge_due: int
    dispose_due: int
    disposition: Disposition | None = None
    acknowledged_at: int | None = None
    disposed_at: int | None = None
    round: int = 1
    overdue_alert_id: str = ""
    overdue_at: int | None = None
    requests: tuple[str, ...] = ()
    version: int = 1


@dataclass(frozen=True, slots=True)
class Transition:
    """One stored step of a case's history (``case_transitions``)."""

    case_id: str
    version: int
    event: Event
    from_state: str
    to_state: CaseState
    at: int
    actor: str = STREAM
    role: str = ""
    disposition: Disposition | None = None
    note: str = ""
    attachments: tuple[str, ...] = ()
    request_id: str = ""


class Step(NamedTuple):
    """A case after something happened to it, and the transition to store (if any)."""

    case: Case
    transition: Transition | None


def _higher(a: Level, b: Level) -> Level:
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


def _due(
    config: CaseConfig, calendar: WorkCalendar, sector: str, level: Level, at: int
) -> tuple[int, int]:
    deadline = config.deadline_for(sector, level)
    return (
        calendar.add_working_hours(at, deadline.acknowledge_hours),
        calendar.add_working_days(at, deadline.dispose_days),
    )


def _step(case: Case, event: Event, before: str, at: int, **fields: object) -> Step:
    moved = replace(case, version=case.version + 1)
    transition = Transition(moved.case_id, moved.version, event, before, moved.state, at)
    return Step(moved, replace(transition, **fields) if fields else transition)  # type: ignore[arg-type]


def join(
    case: Case | None, warning: WarningEvent, config: CaseConfig, calendar: WorkCalendar
) -> Step | None:
    """The case after ``warning`` joins it; ``None`` when the warning opens no case.

    A resolved warning updates the alert it names and opens nothing. Deadlines are
    counted from the warning's event time at the case's level.

    Examples
    --------
    >>> from creditbrain.core.workdays import default_calendar, cst
    >>> step = join(None, example_warning("a1", "2026-04-03T16:00:00+08:00"), CaseConfig(),
    ...             default_calendar())
    >>> step.case.state, step.case.team, step.transition.event
    ('new', 'construction@371102', 'opened')
    >>> cst(step.case.acknowledge_due), cst(step.case.dispose_due)
    ('2026-04-07T11:00:00+08:00', '2026-04-09T17:30:00+08:00')
    """
    data = warning.data
    if data.rule in NOT_CASES:
        return None
    at = _ms(warning)
    entry = CaseAlert(data.alert_id, data.rule, data.level, data.status)
    if case is None:
        if data.status == "resolved":
            return None
        team = config.team_for(data.sector, data.district)
        ack_due, dispose_due = _due(config, calendar, data.sector, data.level, at)
        opened = Case(
            case_id=case_id_of(data.subject.id, team), subject_id=data.subject.id,
            subject_type=str(data.subject.type), subject_name=data.subject.name,
            sector=data.sector, district=data.district, team=team, level=data.level,
            state="new", alerts=(entry,), score=data.score or 0, grade=data.grade or "",
            opened_at=at, raised_at=at, acknowledge_due=ack_due, dispose_due=dispose_due,
        )  # fmt: skip
        return Step(opened, Transition(opened.case_id, 1, "opened", "", "new", at))
    known = {a.alert_id: a for a in case.alerts}
    previous = known.get(data.alert_id)
    alerts = tuple(entry if a.alert_id == data.alert_id else a for a in case.alerts)
    if previous is None:
        alerts += (entry,)
    current = replace(
        case, alerts=alerts, score=data.score or case.score, grade=data.grade or case.grade
    )
    if data.status == "resolved" or (
        previous is not None and LEVEL_RANK[data.level] <= LEVEL_RANK[previous.level]
    ):
        # Nothing new to act on: the case only learns the alert's latest state.
        return Step(replace(current, version=case.version + 1), None)
    level = _higher(case.level, data.level)
    if case.state == "disposed":
        ack_due, dispose_due = _due(config, calendar, case.sector, level, at)
        reopened = replace(
            current, state="new", level=data.level, disposition=None, round=case.round + 1,
            raised_at=at, acknowledged_at=None, disposed_at=None, acknowledge_due=ack_due,
            dispose_due=dispose_due, overdue_alert_id="", overdue_at=None,
        )  # fmt: skip
        return _step(reopened, "reopened", case.state, at, note=f"warning {data.alert_id}")
    ack_due, dispose_due = _due(config, calendar, case.sector, level, at)
    raised = replace(
        current, level=level, raised_at=at,
        acknowledge_due=min(case.acknowledge_due, ack_due),
        dispose_due=min(case.dispose_due, dispose_due),
    )  # fmt: skip
    event: Event = "raised" if previous is None else "escalated"
    return _step(raised, event, case.state, at, note=f"warning {data.alert_id}")


_FROM: dict[Action, tuple[str, ...]] = {
    "acknowledge": ("new",),
    "investigate": ("new", "acknowledged"),
    "dispose": ("new", "acknowledged", "investigating"),
    "reopen": ("disposed",),
    "note": CASE_STATES,
}
_TO: dict[Action, CaseState | None] = {
    "acknowledge": "acknowledged",
    "investigate": "investigating",
    "dispose": "disposed",
    "reopen": "investigating",
    "note": None,
}
_EVENT: dict[Action, Event] = {
    "acknowledge": "acknowledged",
    "investigate": "investigating",
    "dispose": "disposed",
    "reopen": "reopened",
    "note": "noted",
}


def act(
    case: Case,
    action: Action,
    *,
    at: int,
    actor: str,
    role: str,
    config: CaseConfig,
    calendar: WorkCalendar,
    disposition: Disposition | None = None,
    note: str = "",
    attachments: tuple[str, ...] = (),
    request_id: str = "",
) -> Step:
    """The case after a person (or the grid system) acts on it.

    A request id already applied returns the case unchanged and no transition.

    Examples
    --------
    >>> from creditbrain.core.workdays import default_calendar
    >>> cal, config = default_calendar(), CaseConfig()
    >>> case = join(None, example_warning("a1", "2026-03-02T10:00:00+08:00"), config, cal).case
    >>> t = case.acknowledge_due
    >>> kw = dict(at=t, actor="li", role="regulator", config=config, calendar=cal)
    >>> case = act(case, "acknowledge", **kw).case
    >>> step = act(case, "dispose", disposition="false_alarm", request_id="d1", **kw)
    >>> step.case.state, step.case.disposition, step.transition.from_state
    ('disposed', 'false_alarm', 'acknowledged')
    >>> act(step.case, "dispose", disposition="false_alarm", request_id="d1", **kw).transition
    >>> act(step.case, "acknowledge", **kw)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    creditbrain.alerts.cases.case.CaseError: cannot acknowledge a disposed case
    """
    if request_id and request_id in case.requests:
        return Step(case, None)
    if case.state not in _FROM[action]:
        raise CaseError(f"cannot {action} a {case.state} case")
    if action == "dispose" and disposition is None:
        raise CaseError("a disposal names its disposition")
    if action != "dispose" and disposition is not None:
        raise CaseError("only a disposal names a disposition")
    if action == "note" and not (note or attachments):
        raise CaseError("a note needs a text or an attachment")
    requests = (*case.requests, request_id)[-_REMEMBERED:] if request_id else case.requests
    moved = replace(case, state=_TO[action] or case.state, requests=requests)
    if action in ("acknowledge", "investigate", "dispose") and case.acknowledged_at is None:
        moved = replace(moved, acknowledged_at=at)
    if action == "dispose":
        moved = replace(moved, disposition=disposition, disposed_at=at)
    if action == "reopen":
        _, dispose_due = _due(config, calendar, case.sector, case.level, at)
        moved = replace(
            moved, disposition=None, disposed_at=None, round=case.round + 1, raised_at=at,
            dispose_due=dispose_due, overdue_alert_id="", overdue_at=None,
        )  # fmt: skip
    return _step(
        moved, _EVENT[action], case.state, at, actor=actor, role=role, disposition=disposition,
        note=note, attachments=attachments, request_id=request_id,
    )  # fmt: skip


def breached(case: Case, now: int) -> Literal["acknowledge", "dispose"] | None:
    """Which deadline ``case`` has missed at event time ``now``, if any.

    >>> from creditbrain.core.workdays import default_calendar
    >>> case = join(None, example_warning("a1", "2026-03-02T10:00:00+08:00"), CaseConfig(),
    ...             default_calendar()).case
    >>> breached(case, case.acknowledge_due), breached(case, case.acknowledge_due + 1)
    (None, 'acknowledge')
    """
    if case.state == "disposed":
        return None
    # The earlier deadline first, whenever the breach is noticed: the same notice in
    # any run of the same history.
    if case.state == "new" and now > case.acknowledge_due:
        return "acknowledge"
    if now > case.dispose_due:
        return "dispose"
    return None


def mark_overdue(case: Case, now: int) -> Step | None:
    """The case once its breach is noticed at ``now``: at most once per round.

    The returned case names the ``case_overdue`` alert to send
    (:func:`creditbrain.alerts.cases.overdue.overdue_warning`); ``None`` when
    nothing is overdue or the round's notice was already given. The breach happened
    1 ms after the missed deadline, whenever it is noticed: that is its event time
    (``overdue_at``), so a replay gives the same notice.

    >>> from creditbrain.core.workdays import cst, default_calendar
    >>> case = join(None, example_warning("a1", "2026-03-02T10:00:00+08:00"), CaseConfig(),
    ...             default_calendar()).case
    >>> marked = mark_overdue(case, case.dispose_due + 3_600_000).case
    >>> marked.overdue_at == case.acknowledge_due + 1
    True
    """
    missed = breached(case, now)
    if missed is None or case.overdue_alert_id:
        return None
    due = case.acknowledge_due if missed == "acknowledge" else case.dispose_due
    alert_id = str(uuid5(_NAMESPACE, f"case_overdue\x1f{case.case_id}\x1f{case.round}"))
    marked = replace(case, overdue_alert_id=alert_id, overdue_at=due + 1)
    return _step(marked, "overdue", case.state, due + 1, note=f"{missed} deadline missed")


def _ms(warning: WarningEvent) -> int:
    return to_epoch_ms(warning.time)


def example_warning(
    alert_id: str, time: str, *, level: Level = "red", rule: str = "dishonest_debtor_listed",
    subject_id: str = "91371100MA3C0001X1", status: str = "open", version: int = 1,
    sector: str = "construction", district: str = "371102",
) -> WarningEvent:  # fmt: skip
    """A subject warning for examples and tests."""
    return WarningEvent.model_validate(
        {
            "id": f"{alert_id}:{version}", "alertid": alert_id, "subject": subject_id,
            "type": "cn.creditbrain.warning.resolved" if status == "resolved"
            else "cn.creditbrain.warning.opened",
            "time": time,
            "data": {
                "alert_id": alert_id, "version": version, "level": level, "rule": rule,
                "subject": {"type": "enterprise", "id": subject_id, "name": "日照某建设有限公司"},
                "sector": sector, "district": district, "score": 610, "grade": "D",
                "previous_grade": "C", "reasons": [], "first_event_at": time, "status": status,
            },
        }
    )  # fmt: skip
