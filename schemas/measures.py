"""Measures applied (联合奖惩措施反馈): a department reports a joint measure it applied or declined.

The plan asks that the joint reward and punishment measures for listed subjects are
applied in full, and counts the "信易+" scenarios in use. Both are measured from
these reports (CONTRACT "Measures applied"): one JSON object per message on
``credit.measures.applied``, keyed by the subject. A report that fails validation
is a dead letter with the same reasons as an event's (``bad_json``,
``missing_field``, ``bad_field``, ``bad_credit_code``, ``bad_person_id``,
``future_event``).

Examples
--------
>>> report = parse_measure(
...     b'{"schema_version": 1, "report_id": "3b2a4c1e-0000-4000-8000-000000000001",'
...     b' "measure_id": "P-restrict-bidding", "measure_type": "punishment",'
...     b' "subject_id": "91350100M000100Y43", "department": "municipal_development_reform",'
...     b' "decision": "applied", "decided_at": "2026-03-05T10:00:00+08:00",'
...     b' "reported_at": "2026-03-05T11:00:00+08:00"}')
>>> report.decision, report.decided_at.isoformat()
('applied', '2026-03-05T02:00:00+00:00')
>>> try:
...     parse_measure(b'{"schema_version": 1}')
... except MeasureRejected as rejected:
...     print(rejected.reason, "|", rejected.detail)
missing_field | report_id: Field required
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from creditbrain.core.errors import CreditBrainError
from creditbrain.schemas.contract import MEASURES as MEASURES
from creditbrain.schemas.identifiers import is_pseudonym, is_valid_credit_code

_KEY = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class MeasureRejected(CreditBrainError, ValueError):
    """A report that cannot be stored: ``reason`` (a dead-letter reason) and a detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MeasureReport(BaseModel):
    """One department's decision on one measure for one subject."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    schema_version: Literal[1]
    #: Idempotency key: a report delivered twice is stored once.
    report_id: UUID
    #: The measure in the joint measures list (e.g. ``P-restrict-bidding``).
    measure_id: Annotated[str, Field(pattern=_KEY)]
    #: ``reward`` (守信激励, the "信易+" scenarios) or ``punishment`` (失信惩戒).
    measure_type: Literal["reward", "punishment"]
    #: A unified social credit code, or a person's pseudonym as the credit check gives it.
    subject_id: str
    department: Annotated[str, Field(pattern=_KEY)]
    decision: Literal["applied", "declined"]
    decided_at: AwareDatetime
    reported_at: AwareDatetime
    note: Annotated[str, Field(max_length=500)] = ""

    @field_validator("subject_id")
    @classmethod
    def _subject(cls, value: str) -> str:
        if value.startswith("p:"):
            if not is_pseudonym(value):
                raise PydanticCustomError("bad_person_id", "not a person pseudonym")
            return value
        if not is_valid_credit_code(value):
            raise PydanticCustomError("bad_credit_code", "not a valid unified social credit code")
        return value

    @field_validator("decided_at", "reported_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


_REASONS = {
    "json_invalid": "bad_json",
    "json_type": "bad_json",
    "model_type": "bad_json",
    "missing": "missing_field",
    "bad_credit_code": "bad_credit_code",
    "bad_person_id": "bad_person_id",
}


def parse_measure(body: bytes) -> MeasureReport:
    """Validate one report; :class:`MeasureRejected` names the dead-letter reason."""
    try:
        report = MeasureReport.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        reason = _REASONS.get(first["type"], "bad_field")
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MeasureRejected(reason, f"{where}: {first['msg']}") from None
    if report.decided_at > report.reported_at:
        raise MeasureRejected("future_event", "decided_at is later than reported_at")
    return report
