"""Response models shared by the routers, and the queries that fill them.

Every query takes its values as bound parameters (``{name:Type}``): nothing a
caller sends is ever spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from pydantic import BaseModel

from creditbrain.infra.store import Store


class Reason(BaseModel):
    """One record behind a score: which event, what kind, how many points."""

    event_id: str
    kind: str
    effect: int


class SubjectRef(BaseModel):
    """A subject as shown: for persons ``id`` is the pseudonym."""

    type: str
    id: str
    name: str


class Acknowledgement(BaseModel):
    """Who acknowledged an alert, when, with what note."""

    by: str
    role: str
    at: datetime
    note: str


class Alert(BaseModel):
    """An alert's latest state."""

    alert_id: str
    subject: SubjectRef
    sector: str
    district: str
    rule: str
    level: str
    status: str
    score: int
    grade: str
    previous_grade: str
    reasons: list[Reason]
    first_event_at: datetime
    event_time: datetime
    acknowledgements: list[Acknowledgement] = []


ALERT_COLUMNS = (
    "alert_id, subject_id, subject_type, subject_name, sector, district, rule, level, status, "
    "score, grade, previous_grade, reasons, first_event_at, event_time"
)


def reasons_of(text: object) -> list[Reason]:
    """The reasons stored as a JSON array."""
    try:
        items = orjson.loads(str(text or "[]"))
    except orjson.JSONDecodeError:
        return []
    return [Reason.model_validate(item) for item in items if isinstance(item, dict)]


def alert_of(row: dict[str, object]) -> Alert:
    """An :class:`Alert` from a row of ``alerts`` (columns :data:`ALERT_COLUMNS`)."""
    return Alert.model_validate(
        {
            **row,
            "subject": {
                "type": row["subject_type"],
                "id": row["subject_id"],
                "name": row["subject_name"],
            },
            "reasons": reasons_of(row["reasons"]),
        }
    )


def with_acknowledgements(store: Store, alerts: Sequence[Alert]) -> list[Alert]:
    """``alerts`` with their acknowledgements filled in (one query)."""
    if not alerts:
        return []
    rows = store.query_rows(
        "SELECT alert_id, acknowledged_by AS by, role, acknowledged_at AS at, note "
        "FROM alert_acks FINAL WHERE alert_id IN {ids:Array(String)} ORDER BY at",
        {"ids": [alert.alert_id for alert in alerts]},
    )
    acks: dict[str, list[Acknowledgement]] = {}
    for row in rows:
        acks.setdefault(str(row["alert_id"]), []).append(Acknowledgement.model_validate(row))
    return [
        alert.model_copy(update={"acknowledgements": acks.get(alert.alert_id, [])})
        for alert in alerts
    ]


def open_alerts(store: Store, subject_ids: Iterable[str]) -> list[Alert]:
    """The alerts of a subject that are not resolved, newest first."""
    rows = store.query_rows(
        f"SELECT {ALERT_COLUMNS} FROM alerts FINAL "  # noqa: S608 - constant column list
        "WHERE subject_id IN {ids:Array(String)} AND status != 'resolved' "
        "ORDER BY event_time DESC",
        {"ids": list(subject_ids)},
    )
    return with_acknowledgements(store, [alert_of(row) for row in rows])
