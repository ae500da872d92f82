"""Dispositions (处置结果) reported back on ``credit.dispositions`` (CONTRACT.md, docs/contract.md).

The grid governance system (网格化治理), or any department that acts on a case,
reports what it did as a CloudEvents 1.0 event in structured mode: ``id`` names
the report (a report delivered twice keeps its id and is applied once),
``subject`` and ``data.case_id`` name the case, ``data.disposition`` what was
done, ``data.by`` who did it and ``data.at`` when. ``data.note`` and
``data.attachments`` (references: URIs or document numbers, never the files) are
optional. A report with ``disposition`` ``null`` only adds its note to the case.

>>> body = b'''{"specversion": "1.0", "id": "d-1", "type": "cn.creditbrain.case.disposition",
... "source": "grid/371102", "subject": "c1", "time": "2026-03-05T10:00:00+08:00",
... "datacontenttype": "application/json",
... "data": {"case_id": "c1", "disposition": "referred_to_grid", "by": "grid-371102-017",
...          "at": "2026-03-05T09:40:00+08:00", "attachments": ["doc:RZ-2026-0311"]}}'''
>>> report = DispositionEvent.from_bytes(body)
>>> report.data.disposition, report.data.attachments
('referred_to_grid', ('doc:RZ-2026-0311',))
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from creditbrain.schemas.contract import DISPOSITIONS

#: The CloudEvents ``type`` of a disposition report.
DISPOSITION_TYPE: Final = "cn.creditbrain.case.disposition"
#: The topic suffix (``credit.dispositions`` with the default prefix).
DISPOSITIONS_TOPIC = DISPOSITIONS

DispositionName = Literal[
    "confirmed_risk", "false_alarm", "handled_with_measures", "referred_to_grid", "duplicate"
]
_FROZEN = ConfigDict(frozen=True, extra="forbid")
_Text = Annotated[str, Field(max_length=2000)]


class DispositionData(BaseModel):
    """``data`` of a disposition report."""

    model_config = _FROZEN

    case_id: Annotated[str, Field(min_length=1, max_length=64)]
    disposition: DispositionName | None
    by: Annotated[str, Field(min_length=1, max_length=128)]
    at: AwareDatetime
    note: _Text = ""
    attachments: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=500)], ...], Field(max_length=20)
    ] = ()


class DispositionEvent(BaseModel):
    """A disposition report as a CloudEvents 1.0 structured-mode event."""

    model_config = _FROZEN

    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1, max_length=128)]
    type: Literal["cn.creditbrain.case.disposition"] = DISPOSITION_TYPE
    source: Annotated[str, Field(min_length=1, max_length=200)]
    subject: Annotated[str, Field(min_length=1, max_length=64)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: DispositionData

    @model_validator(mode="after")
    def _names_its_case(self) -> DispositionEvent:
        if self.subject != self.data.case_id:
            raise ValueError("subject must repeat data.case_id")
        if self.data.disposition is None and not (self.data.note or self.data.attachments):
            raise ValueError("a report without a disposition carries a note or attachments")
        return self

    @classmethod
    def from_bytes(cls, body: bytes | str) -> DispositionEvent:
        """Parse and validate a report body."""
        return cls.model_validate_json(body)

    @property
    def at(self) -> datetime:
        """When the disposition was made (event time)."""
        return self.data.at
