"""JSON Schema of the contract, for partners who validate before they send."""

from __future__ import annotations

from typing import Any

from creditbrain.schemas.dispositions import DispositionEvent
from creditbrain.schemas.events import EVENT_ADAPTER


def contract_schemas() -> dict[str, dict[str, Any]]:
    """Schema name -> JSON Schema document."""
    event = EVENT_ADAPTER.json_schema()
    event["$id"] = "https://creditbrain.example/schemas/credit-event.schema.json"
    event["title"] = "creditbrain credit event (schema_version 1)"
    disposition = DispositionEvent.model_json_schema()
    disposition["$id"] = "https://creditbrain.example/schemas/case-disposition.schema.json"
    disposition["title"] = "creditbrain case disposition report (credit.dispositions)"
    return {"credit-event": event, "case-disposition": disposition}
