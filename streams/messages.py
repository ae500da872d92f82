"""The records the stream passes around, independent of Faust.

:class:`Inbound` is one consumed Kafka message; :class:`Outbound` is one message to
produce (topic suffix of the contract, key, value, headers). Keeping them plain lets
the processor be tested without a broker. :func:`alert_messages` says where one alert
change goes; the subject processor and the series watch both send alerts through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from creditbrain.schemas.contract import WARNINGS, WARNINGS_GRID
from creditbrain.schemas.warnings import CONTENT_TYPE
from creditbrain.streams.sent import ALERT_ID, ALERT_VERSION

if TYPE_CHECKING:
    from creditbrain.alerts import AlertUpdate

_CONTENT_TYPE = CONTENT_TYPE.encode()

ACCEPTED = "events.accepted"
#: Every change of every alert (also the repeats that are only stored), for the store.
ALERTS_LOG = "alerts.log"
#: Every change of every shadow warning (engine/shadow.py), for the store only.
SHADOW_ALERTS = "alerts.shadow"
#: Each scored day of a city-level series (its whole count and anomaly score), for the store.
METRIC_DAYS = "metric.days"


@dataclass(frozen=True, slots=True)
class Inbound:
    """A consumed message and where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message to produce; ``topic`` is a contract suffix such as ``scores``."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def source_headers(message: Inbound) -> list[tuple[str, bytes]]:
    """Headers that say which input message an output derives from."""
    return [
        ("source-topic", message.topic.encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
    ]


def alert_messages(update: AlertUpdate) -> list[Outbound]:
    """Where an alert change goes: the store always, the warning topics when it is news.

    Warning records are CloudEvents in the structured mode of the Kafka binding
    (header ``content-type``), and name the change in their headers (``alert-id``,
    ``alert-version``), so that a change is never sent twice
    (:mod:`creditbrain.streams.sent`).
    """
    key = update.key
    log = orjson.dumps(
        {
            "change": update.change,
            "notify": update.notify,
            "version": update.version,
            "doc": update.doc,
            "snoozed": update.snoozed,
        }
    )
    messages = [Outbound(ALERTS_LOG, key, log)]
    change = [
        ("content-type", _CONTENT_TYPE),
        (ALERT_ID, update.alert_id.encode()),
        (ALERT_VERSION, str(update.version).encode()),
    ]
    if update.notify:
        messages.append(Outbound(WARNINGS, key, update.body, change))
    if update.grid and update.grid_body is not None:
        messages.append(Outbound(WARNINGS_GRID, key, update.grid_body, change))
    return messages


def shadow_message(shadow: str, started_ms: int, update: AlertUpdate, live: bool) -> Outbound:
    """A warning change of a shadow's comparison: to ``shadow_alerts`` only, never delivered.

    ``live``: the live set's change on the same re-scoring (side ``live``), else the
    shadow set's (side ``shadow``). ``started_ms`` names the run of the shadow (a
    shadow put again starts a new run). ``sent`` says whether the set would send the
    change (an opening, an escalation, a reminder out of its cooldown), which is what
    a backtest counts.
    """
    doc = {
        "shadow": shadow,
        "started_ms": started_ms,
        "side": "live" if live else "shadow",
        "change": update.change,
        "sent": update.notify,
        "version": update.version,
        "doc": update.doc,
    }
    return Outbound(SHADOW_ALERTS, update.key, orjson.dumps(doc))
