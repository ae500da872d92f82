"""The warnings the project sends (CONTRACT.md §2) as CloudEvents 1.0 in structured mode.

A warning is one change of one alert. Its CloudEvents ``id`` is
``<alert id>:<version>`` (:func:`event_id`), unique per change, because CloudEvents
consumers drop a second event with the same ``source`` and ``id``: the opening,
escalation and resolution of one alert are three events, while a redelivered copy
of one change keeps its id. The alert itself is named by the extension attribute
``alertid`` and by ``data.alert_id`` (stable across the alert's changes), and the
change by ``data.version`` (1 at opening, one more with each change). Whoever keys
alerts (the store, the API, the send-once read-back) keys them by ``alertid``.
``time`` is the event time of the transition that produced the warning, written
in China Standard Time (``+08:00``).

On Kafka a warning travels in the structured mode of the CloudEvents Kafka
binding: the record header ``content-type`` is :data:`CONTENT_TYPE`.

:class:`WarningEvent` validates what comes back (tests, consumers, the API) and
:meth:`WarningEvent.to_bytes` writes the wire form with orjson; the alert
lifecycle (:mod:`creditbrain.alerts`) builds warnings and never needs pydantic's
slower serialiser.

Warnings routed to the grid governance system (网格化治理) do not carry a
person's name in clear unless the policy says so: :func:`mask_person_name` and
:func:`masked_for_grid`.

The levels, ``red`` > ``orange`` > ``yellow`` > ``blue`` (:data:`LEVEL_RANK`), are
shared by warnings and policies and live here too. The rule names do not: each rule
is a file of :mod:`creditbrain.alerts.rules`, a layer above, which checks the names
where it builds warnings and policies; here ``data.rule`` is a rule's name by shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from creditbrain.core.eventtime import CST as CST
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Grade

Level = Literal["red", "orange", "yellow", "blue"]
#: Higher is more severe.
LEVEL_RANK: dict[str, int] = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}

#: A rule's name (``data.rule``), one of :data:`creditbrain.alerts.rules.RULE_NAMES`.
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]

Status = Literal["open", "escalated", "resolved"]
WarningType = Literal[
    "cn.creditbrain.warning.opened",
    "cn.creditbrain.warning.escalated",
    "cn.creditbrain.warning.resolved",
]
#: The CloudEvent ``type`` that announces each status.
TYPE_OF_STATUS: dict[str, WarningType] = {
    "open": "cn.creditbrain.warning.opened",
    "escalated": "cn.creditbrain.warning.escalated",
    "resolved": "cn.creditbrain.warning.resolved",
}
SOURCE = "creditbrain/alerts"
#: The ``content-type`` of a structured-mode CloudEvent (Kafka header, HTTP header).
CONTENT_TYPE = "application/cloudevents+json"
#: ``data.subject.type`` of a city-level warning about a metric series (``metric_anomaly``).
SERIES = "series"

_EPOCH_CST = datetime(1970, 1, 1, 8, tzinfo=CST)
_ONE_MS = timedelta(milliseconds=1)


def event_id(alert_id: str, version: int) -> str:
    """The CloudEvents ``id`` of version ``version`` of an alert: unique per change.

    >>> event_id("5f0c", 1), event_id("5f0c", 2)
    ('5f0c:1', '5f0c:2')
    """
    return f"{alert_id}:{version}"


def format_time(ms: int) -> str:
    """Epoch milliseconds as ISO-8601 in ``+08:00``; milliseconds shown only when nonzero.

    >>> format_time(1772587800000)
    '2026-03-04T09:30:00+08:00'
    >>> format_time(1772587800123)
    '2026-03-04T09:30:00.123+08:00'
    """
    moment = _EPOCH_CST + timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")


def _format_datetime(moment: datetime) -> str:
    return format_time((moment - _EPOCH_CST) // _ONE_MS)


_FROZEN = ConfigDict(frozen=True, extra="forbid")


class WarningSubject(BaseModel):
    """Who the warning is about; for persons ``id`` is the pseudonym."""

    model_config = _FROZEN

    type: SubjectType | Literal["series"]
    id: Annotated[str, Field(min_length=1)]
    name: str = ""


class WarningReason(BaseModel):
    """A record behind the warning and its effect on the score (0 when it has none)."""

    model_config = _FROZEN

    event_id: str
    kind: str
    effect: int


class MetricInfo(BaseModel):
    """What a city-level ``metric_anomaly`` warning is about (absent from subject warnings)."""

    model_config = _FROZEN

    kind: str
    day: str
    value: float
    anomaly_score: float


class CaseInfo(BaseModel):
    """What a ``case_overdue`` warning (处置超期) is about: the case and the deadline it missed."""

    model_config = _FROZEN

    case_id: str
    team: str
    deadline: Literal["acknowledge", "dispose"]
    due_at: AwareDatetime

    @field_serializer("due_at")
    def _cst(self, moment: datetime) -> str:
        return _format_datetime(moment)


class WarningData(BaseModel):
    """``data`` of a warning, exactly the contract's keys (plus ``metric`` for metric_anomaly,
    ``case`` for case_overdue).

    ``score``, ``grade`` and ``previous_grade`` are ``None`` only in a metric_anomaly
    warning, which is about a series, not a subject.
    """

    model_config = _FROZEN

    alert_id: str
    version: Annotated[int, Field(ge=1)]
    level: Level
    rule: RuleId
    subject: WarningSubject
    sector: str
    district: str
    score: Annotated[int, Field(ge=0, le=1000)] | None
    grade: Grade | None
    previous_grade: Grade | None
    reasons: tuple[WarningReason, ...]
    first_event_at: AwareDatetime
    status: Status
    metric: MetricInfo | None = None
    case: CaseInfo | None = None

    @field_serializer("first_event_at")
    def _cst(self, moment: datetime) -> str:
        return _format_datetime(moment)

    @model_validator(mode="after")
    def _subject_or_series(self) -> WarningData:
        is_metric = self.rule == "metric_anomaly"
        if is_metric != (self.subject.type == SERIES) or is_metric != (self.metric is not None):
            raise ValueError("metric_anomaly warnings, and only they, are about a series")
        if (self.rule == "case_overdue") != (self.case is not None):
            raise ValueError("case_overdue warnings, and only they, name a case")
        if not is_metric and (self.score is None or self.grade is None):
            raise ValueError("a subject warning carries its score and grade")
        if self.metric is not None:
            series = f"{self.sector}|{self.district}|{self.metric.kind}"
            if self.subject.id != series:
                raise ValueError(f"a series is named <sector>|<district>|<kind>: {series!r}")
        return self


class WarningEvent(BaseModel):
    """A warning as a CloudEvents 1.0 structured-mode event (CONTRACT.md §2).

    Examples
    --------
    >>> doc = {
    ...     "specversion": "1.0", "id": "a1:1", "alertid": "a1",
    ...     "type": "cn.creditbrain.warning.opened",
    ...     "source": "creditbrain/alerts", "subject": "91350100M000100Y43",
    ...     "time": "2026-03-05T10:00:02+08:00", "datacontenttype": "application/json",
    ...     "data": {"alert_id": "a1", "version": 1, "level": "red",
    ...              "rule": "dishonest_debtor_listed",
    ...              "subject": {"type": "enterprise", "id": "91350100M000100Y43",
    ...                          "name": "某公司"},
    ...              "sector": "construction", "district": "371102", "score": 800,
    ...              "grade": "B", "previous_grade": "A",
    ...              "reasons": [{"event_id": "e1", "kind": "dishonest_debtor", "effect": -200}],
    ...              "first_event_at": "2026-03-05T02:00:02Z", "status": "open"}}
    >>> warning = WarningEvent.model_validate(doc)
    >>> orjson.loads(warning.to_bytes())["data"]["first_event_at"]
    '2026-03-05T10:00:02+08:00'
    >>> WarningEvent.from_bytes(warning.to_bytes()) == warning
    True

    The escalation of the same alert is another event of the same alert:

    >>> escalated = dict(doc, id="a1:2", type="cn.creditbrain.warning.escalated",
    ...     data=dict(doc["data"], version=2, status="escalated"))
    >>> later = WarningEvent.model_validate(escalated)
    >>> (later.id != warning.id, later.alertid == warning.alertid)
    (True, True)
    """

    model_config = _FROZEN

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1)]
    alertid: Annotated[str, Field(min_length=1)]
    type: WarningType
    source: Literal["creditbrain/alerts"] = "creditbrain/alerts"
    subject: Annotated[str, Field(min_length=1)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: WarningData

    @field_serializer("time")
    def _cst(self, moment: datetime) -> str:
        return _format_datetime(moment)

    @model_validator(mode="after")
    def _consistent(self) -> WarningEvent:
        data = self.data
        if self.alertid != data.alert_id or self.subject != data.subject.id:
            raise ValueError("alertid and subject must repeat data.alert_id and data.subject.id")
        if self.id != event_id(data.alert_id, data.version):
            raise ValueError("id must be data.alert_id, ':' and data.version")
        # A re-sent warning keeps its type, so only a resolution's type is tied to its status.
        if (self.type == TYPE_OF_STATUS["resolved"]) != (data.status == "resolved"):
            raise ValueError(f"type {self.type} does not fit status {data.status}")
        return self

    def to_doc(self) -> dict[str, object]:
        """The wire form as plain JSON values (what :meth:`to_bytes` writes)."""
        data = self.data
        subject = data.subject
        doc: dict[str, object] = {
            "alert_id": data.alert_id,
            "version": data.version,
            "level": data.level,
            "rule": data.rule,
            "subject": {"type": str(subject.type), "id": subject.id, "name": subject.name},
            "sector": data.sector,
            "district": data.district,
            "score": data.score,
            "grade": data.grade,
            "previous_grade": data.previous_grade,
            "reasons": [
                {"event_id": r.event_id, "kind": r.kind, "effect": r.effect} for r in data.reasons
            ],
            "first_event_at": _format_datetime(data.first_event_at),
            "status": data.status,
        }
        if data.metric is not None:
            doc["metric"] = data.metric.model_dump()
        if data.case is not None:
            doc["case"] = data.case.model_dump(mode="json")
        return {
            "specversion": self.specversion,
            "id": self.id,
            "alertid": self.alertid,
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": _format_datetime(self.time),
            "datacontenttype": self.datacontenttype,
            "data": doc,
        }

    def to_bytes(self) -> bytes:
        """The JSON body sent on ``credit.warnings`` (orjson, UTF-8, no whitespace)."""
        return orjson.dumps(self.to_doc())

    @classmethod
    def from_bytes(cls, body: bytes | str) -> WarningEvent:
        """Parse and validate a warning body."""
        return cls.model_validate_json(body)


def mask_person_name(name: str) -> str:
    """A person's name for readers who may not see it: the first character, then ``*``.

    The surname stays readable to the grid worker who must find the right
    household; the given name does not. One character becomes ``*``.

    >>> mask_person_name("张三"), mask_person_name("欧阳娜娜"), mask_person_name("李")
    ('张*', '欧***', '*')
    >>> mask_person_name("")
    ''
    """
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def masked_for_grid(warning: WarningEvent) -> WarningEvent:
    """The copy of ``warning`` for the grid: a person's name masked, anything else unchanged.

    >>> subject = WarningSubject(type="person", id="p:" + "0" * 32, name="王小明")
    >>> data = WarningData(alert_id="a", version=1, level="orange", rule="wage_arrears",
    ...     subject=subject,
    ...     sector="construction", district="371102", score=900, grade="A",
    ...     previous_grade="A", reasons=(), first_event_at="2026-03-05T10:00:00+08:00",
    ...     status="open")
    >>> w = WarningEvent(id="a:1", alertid="a", type="cn.creditbrain.warning.opened",
    ...     subject=subject.id,
    ...     time="2026-03-05T10:00:00+08:00", data=data)
    >>> masked_for_grid(w).data.subject.name
    '王**'
    """
    subject = warning.data.subject
    if subject.type != SubjectType.PERSON or not subject.name:
        return warning
    masked = subject.model_copy(update={"name": mask_person_name(subject.name)})
    data = warning.data.model_copy(update={"subject": masked})
    return warning.model_copy(update={"data": data})
