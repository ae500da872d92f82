"""The ``case_overdue`` warning (处置超期) of a case that missed its deadline.

One warning per round of a case (:func:`~creditbrain.alerts.cases.case.mark_overdue`
names its alert id), at the level of the ``case_overdue`` policy in force for the
case's sector and district, about the case's subject with the last score and
grade its warnings carried. It travels like any warning (``credit.warnings``,
the store, webhooks), so the owner's team and the sector's supervisors see it
where they see the rest; it is not routed to the grid unless the policy says so.
"""

from __future__ import annotations

import orjson

from creditbrain.alerts.cases.case import Case, breached
from creditbrain.alerts.lifecycle import AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.routing import DataDoc, for_grid, warning_doc
from creditbrain.schemas.state import Grade
from creditbrain.schemas.warnings import format_time

_GRADES: dict[str, Grade] = {"A": "A", "B": "B", "C": "C", "D": "D"}


def overdue_warning(case: Case, policies: PolicySet) -> AlertUpdate | None:
    """The warning of ``case``'s missed deadline, or ``None`` (disabled, or nothing missed).

    ``case`` is the one :func:`~creditbrain.alerts.cases.case.mark_overdue` returned.

    Examples
    --------
    >>> from creditbrain.alerts.cases.case import example_warning, join, mark_overdue
    >>> from creditbrain.alerts.cases.config import CaseConfig
    >>> from creditbrain.alerts.policy import DEFAULT_POLICIES
    >>> from creditbrain.core.workdays import default_calendar
    >>> case = join(None, example_warning("a1", "2026-03-02T10:00:00+08:00"), CaseConfig(),
    ...             default_calendar()).case
    >>> late = mark_overdue(case, case.acknowledge_due + 60_000).case
    >>> update = overdue_warning(late, DEFAULT_POLICIES)
    >>> update.warning.data.case.deadline, update.warning.data.case.due_at.isoformat()
    ('acknowledge', '2026-03-02T15:30:00+08:00')
    >>> update.rule, update.change, update.warning.time.isoformat()
    ('case_overdue', 'opened', '2026-03-02T15:30:00.001000+08:00')
    """
    if not case.overdue_alert_id or case.overdue_at is None:
        return None
    missed = breached(case, case.overdue_at)
    if missed is None:
        return None
    policy = policies.resolve("case_overdue", case.sector, case.district)
    if not policy.enabled:
        return None
    due = case.acknowledge_due if missed == "acknowledge" else case.dispose_due
    grade = _GRADES.get(case.grade, "D")
    data: DataDoc = {
        "alert_id": case.overdue_alert_id,
        "version": 1,
        "level": policy.level,
        "rule": "case_overdue",
        "subject": {"type": case.subject_type, "id": case.subject_id, "name": case.subject_name},
        "sector": case.sector,
        "district": case.district,
        "score": case.score,
        "grade": grade,
        "previous_grade": grade,
        "reasons": [],
        "first_event_at": format_time(case.raised_at),
        "status": "open",
        "case": {
            "case_id": case.case_id,
            "team": case.team,
            "deadline": missed,
            "due_at": format_time(due),
        },
    }
    doc = warning_doc(data, case.overdue_at)
    body = orjson.dumps(doc)
    grid_body = orjson.dumps(for_grid(doc, policy.reveal_person_names)) if policy.grid else None
    return AlertUpdate("opened", True, policy.grid, 1, doc, body, grid_body)
