"""Pending objections (异议) of a subject, with their 3-working-day clock, for credit checks.

An objection is pending from its ``filed`` report until the objection about the same
record is ``upheld`` or ``rejected``; while it is, the credit check says so
("objection pending"), naming the record disputed, when it was filed and when the
decision is due: ``objection_days`` working days later (山东省社会信用条例 Art. 39: 3),
at the close of office, on the working-day calendar. ``overdue`` compares the due
time with the moment of the check.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from creditbrain.api.context import ApiContext
from creditbrain.core.eventtime import from_epoch_ms, to_epoch_ms
from creditbrain.core.workdays import WorkCalendar
from creditbrain.infra.store import Store
from creditbrain.runtime.cases import case_config, work_calendar


class PendingObjection(BaseModel):
    """An objection awaiting its decision."""

    ref_event_id: str
    filed_at: datetime
    decision_due: datetime
    overdue: bool


def pending_objections(
    store: Store, subject_id: str, calendar: WorkCalendar, days: int, now: datetime
) -> list[PendingObjection]:
    """The subject's objections still undecided, oldest first."""
    rows = store.query_rows(
        "SELECT JSONExtractString(payload, 'ref_event_id') AS ref, "
        "argMax(JSONExtractString(payload, 'status'), occurred_at) AS last_status, "
        "minIf(occurred_at, JSONExtractString(payload, 'status') = 'filed') AS filed_at "
        "FROM events WHERE subject_id = {id:String} AND kind = 'objection' "
        "GROUP BY ref HAVING last_status = 'filed' ORDER BY filed_at",
        {"id": subject_id},
    )
    found = []
    for row in rows:
        filed = row["filed_at"]
        if not isinstance(filed, datetime):
            continue
        due = from_epoch_ms(calendar.add_working_days(to_epoch_ms(filed), days))
        found.append(
            PendingObjection(
                ref_event_id=str(row["ref"]), filed_at=filed, decision_due=due, overdue=now > due
            )
        )
    return found


def objections_of(
    context: ApiContext, store: Store, subject_id: str, now: datetime
) -> list[PendingObjection]:
    """:func:`pending_objections` with the deployment's calendar and objection period."""
    settings = context.settings
    days = case_config(settings).objection_days
    return pending_objections(store, subject_id, work_calendar(settings), days, now)
