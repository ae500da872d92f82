"""Warnings as wire documents, and their copies for the grid governance system.

The lifecycle builds each warning once as a plain JSON document (typed here), so
the body is one ``orjson.dumps`` away and the CloudEvent model
(:class:`~creditbrain.schemas.warnings.WarningEvent`) validates the very same
document. The grid's copy differs only in a person's name, masked unless the
policy reveals it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NotRequired, TypedDict

from creditbrain.alerts.rules import RuleName
from creditbrain.schemas.state import Grade
from creditbrain.schemas.warnings import (
    SOURCE,
    TYPE_OF_STATUS,
    Level,
    Status,
    event_id,
    format_time,
    mask_person_name,
)


class SubjectDoc(TypedDict):
    type: str
    id: str
    name: str


class ReasonDoc(TypedDict):
    event_id: str
    kind: str
    effect: int


class MetricDoc(TypedDict):
    kind: str
    day: str
    value: float
    anomaly_score: float


class CaseDoc(TypedDict):
    case_id: str
    team: str
    deadline: str
    due_at: str


class DataDoc(TypedDict):
    alert_id: str
    version: int
    level: Level
    rule: RuleName
    subject: SubjectDoc
    sector: str
    district: str
    score: int | None
    grade: Grade | None
    previous_grade: Grade | None
    reasons: list[ReasonDoc]
    first_event_at: str
    status: Status
    metric: NotRequired[MetricDoc]
    case: NotRequired[CaseDoc]


class WarningDoc(TypedDict):
    specversion: str
    id: str
    alertid: str
    type: str
    source: str
    subject: str
    time: str
    datacontenttype: str
    data: DataDoc


def warning_doc(data: DataDoc, time_ms: int) -> WarningDoc:
    """The CloudEvent around ``data`` at event time ``time_ms``; ``type`` follows the status.

    ``id`` names this change of the alert (alert id and version), ``alertid`` the alert.

    >>> data = DataDoc(alert_id="a", version=2, level="blue", rule="first_negative_record",
    ...     subject=SubjectDoc(type="enterprise", id="X", name=""), sector="finance",
    ...     district="371102", score=980, grade="A", previous_grade="A", reasons=[],
    ...     first_event_at=format_time(0), status="open")
    >>> doc = warning_doc(data, 0)
    >>> doc["type"], doc["time"], doc["subject"]
    ('cn.creditbrain.warning.opened', '1970-01-01T08:00:00+08:00', 'X')
    >>> doc["id"], doc["alertid"]
    ('a:2', 'a')
    """
    return {
        "specversion": "1.0",
        "id": event_id(data["alert_id"], data["version"]),
        "alertid": data["alert_id"],
        "type": TYPE_OF_STATUS[data["status"]],
        "source": SOURCE,
        "subject": data["subject"]["id"],
        "time": format_time(time_ms),
        "datacontenttype": "application/json",
        "data": data,
    }


def reason_docs(reasons: Iterable[tuple[str, str, int]]) -> list[ReasonDoc]:
    """``(event_id, kind, effect)`` triples (such as ScoreReasons) as documents."""
    return [{"event_id": e, "kind": k, "effect": effect} for e, k, effect in reasons]


def for_grid(doc: WarningDoc, reveal_person_names: bool) -> WarningDoc:
    """The grid's copy: a person's name masked unless revealed.

    >>> data = DataDoc(alert_id="a", version=1, level="orange", rule="wage_arrears",
    ...     subject=SubjectDoc(type="person", id="p:00", name="王小明"), sector="finance",
    ...     district="371102", score=900, grade="A", previous_grade="A", reasons=[],
    ...     first_event_at=format_time(0), status="open")
    >>> for_grid(warning_doc(data, 0), False)["data"]["subject"]["name"]
    '王**'
    >>> for_grid(warning_doc(data, 0), True)["data"]["subject"]["name"]
    '王小明'
    """
    subject = doc["data"]["subject"]
    if reveal_person_names or subject["type"] != "person" or not subject["name"]:
        return doc
    masked: SubjectDoc = {**subject, "name": mask_person_name(subject["name"])}
    return {**doc, "data": {**doc["data"], "subject": masked}}
