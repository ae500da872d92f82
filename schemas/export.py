"""JSON Schema of the contract, for partners who validate what they send or receive.

Three documents (JSON Schema 2020-12, each with ``$schema`` and ``$id``), generated
from the models the stream itself validates and writes with, so they cannot drift:

``credit-event``
    an input event, on any of the six input topics (:data:`~.events.EVENT_ADAPTER`);
``warning``
    a warning on ``credit.warnings`` / ``credit.warnings.grid`` and in webhook
    deliveries, a CloudEvent (:class:`~.warnings.WarningEvent`);
``score-change``
    a message of ``credit.scores`` (:class:`~.outputs.ScoreChange`);
``case-disposition``
    a report of ``credit.dispositions`` (:class:`~.dispositions.DispositionEvent`).

``creditbrain schemas export DIR`` writes them as ``DIR/<name>.schema.json``.

>>> schemas = contract_schemas()
>>> sorted(schemas)
['case-disposition', 'credit-event', 'score-change', 'warning']
>>> schemas["warning"]["$id"]
'https://creditbrain.example/schemas/warning.schema.json'
>>> schemas["score-change"]["$schema"]
'https://json-schema.org/draft/2020-12/schema'
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from creditbrain.schemas.dispositions import DispositionEvent
from creditbrain.schemas.events import EVENT_ADAPTER
from creditbrain.schemas.outputs import ScoreChange
from creditbrain.schemas.warnings import WarningEvent

#: The dialect pydantic writes.
DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Where the published schemas are named; ``$id`` is this and ``<name>.schema.json``.
BASE_ID = "https://creditbrain.example/schemas/"

#: Name -> (what it validates, title).
PUBLISHED: dict[str, tuple[TypeAdapter[Any], str]] = {
    "credit-event": (EVENT_ADAPTER, "creditbrain credit event (schema_version 1)"),
    "warning": (TypeAdapter(WarningEvent), "creditbrain warning (CloudEvents 1.0)"),
    "score-change": (TypeAdapter(ScoreChange), "creditbrain score change (credit.scores)"),
    "case-disposition": (
        TypeAdapter(DispositionEvent),
        "creditbrain case disposition report (credit.dispositions)",
    ),
}


def schema_id(name: str) -> str:
    """The ``$id`` of a published schema.

    >>> schema_id("credit-event")
    'https://creditbrain.example/schemas/credit-event.schema.json'
    """
    return f"{BASE_ID}{name}.schema.json"


def contract_schemas() -> dict[str, dict[str, Any]]:
    """Schema name -> JSON Schema document, with ``$schema`` and ``$id`` first."""
    documents: dict[str, dict[str, Any]] = {}
    for name, (adapter, title) in PUBLISHED.items():
        schema = adapter.json_schema()
        schema.pop("title", None)
        documents[name] = {"$schema": DIALECT, "$id": schema_id(name), "title": title, **schema}
    return documents
