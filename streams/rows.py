"""Kafka output messages -> ClickHouse rows, one small function per table.

The sink reads the stream's own output topics, so these functions only reshape
JSON the worker wrote; they hold no credit rules. The one input the sink reads
itself, departments' measure reports, arrives validated by
:mod:`creditbrain.schemas.measures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson

from creditbrain.schemas.measures import MeasureRejected, MeasureReport

EVENT_COLUMNS = (
    "event_id",
    "kind",
    "subject_id",
    "subject_type",
    "subject_name",
    "source",
    "sector",
    "district",
    "occurred_at",
    "reported_at",
    "payload",
    "topic",
    "partition",
    "offset",
    "ingested_at",
)
DLQ_COLUMNS = (
    "received_at",
    "topic",
    "partition",
    "offset",
    "reason",
    "detail",
    "event_id",
    "raw",
    "resolution",
    "revision",
)
SCORE_COLUMNS = (
    "subject_id",
    "subject_type",
    "sector",
    "district",
    "as_of",
    "score",
    "grade",
    "previous_score",
    "previous_grade",
    "event_id",
    "cause",
    "reasons",
    "recorded_at",
)
STATE_COLUMNS = (
    "subject_id",
    "subject_type",
    "subject_name",
    "sector",
    "district",
    "score",
    "grade",
    "reasons",
    "records",
    "last_event_at",
    "updated_at",
    "version",
)


def parse_time(value: str) -> datetime:
    """ISO-8601 with offset -> aware UTC datetime."""
    return datetime.fromisoformat(value).astimezone(UTC)


def ms_to_time(ms: int) -> datetime:
    """Epoch milliseconds -> aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def header_map(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka headers as text."""
    return {k: v.decode(errors="replace") for k, v in headers or ()}


def event_row(value: bytes, headers: Mapping[str, str], now: datetime) -> list[Any]:
    """An accepted event (pseudonymised wire JSON) -> a row of ``events``."""
    event = orjson.loads(value)
    subject = event["subject"]
    return [
        event["event_id"],
        event["kind"],
        subject["id"],
        subject["type"],
        subject.get("name", ""),
        event["source"],
        event["sector"],
        event["district"],
        parse_time(event["occurred_at"]),
        parse_time(event["reported_at"]),
        orjson.dumps(event["payload"]).decode(),
        headers.get("source-topic", ""),
        int(headers.get("source-partition", 0)),
        int(headers.get("source-offset", 0)),
        now,
    ]


def dlq_row(
    value: bytes, headers: Mapping[str, str], now: datetime, position: tuple[str, int, int]
) -> list[Any]:
    """A dead letter -> a row of ``dlq``.

    The row is keyed by the message it stands for: the source position the worker
    put in the headers, else (a dead letter from elsewhere) its own position on
    the dead-letter topic.
    """
    if "source-topic" in headers:
        position = (
            headers["source-topic"],
            int(headers.get("source-partition", 0)),
            int(headers.get("source-offset", 0)),
        )
    return [
        now,
        *position,
        headers.get("reason", "unknown"),
        headers.get("detail", ""),
        headers.get("event-id", ""),
        value.decode("utf-8", errors="replace"),
        headers.get("resolution", ""),
        int(headers.get("revision", 0)),
    ]


def score_rows(value: bytes, now: datetime) -> tuple[list[Any], list[Any]]:
    """A score change -> (a row of ``scores``, a row of ``entity_state``)."""
    change = orjson.loads(value)
    reasons = orjson.dumps(change["reasons"]).decode()
    as_of = ms_to_time(change["as_of_ms"])
    score = [
        change["subject_id"],
        change["subject_type"],
        change["sector"],
        change["district"],
        as_of,
        change["score"],
        change["grade"],
        change.get("previous_score"),
        change.get("previous_grade") or "",
        change.get("event_id") or "",
        change["cause"],
        reasons,
        now,
    ]
    state = [
        change["subject_id"],
        change["subject_type"],
        change.get("subject_name", ""),
        change["sector"],
        change["district"],
        change["score"],
        change["grade"],
        reasons,
        change.get("records", 0),
        ms_to_time(change.get("last_event_ms", change["as_of_ms"])),
        now,
        change["version"],
    ]
    return score, state


ALERT_COLUMNS = (
    "alert_id",
    "subject_id",
    "subject_type",
    "subject_name",
    "sector",
    "district",
    "rule",
    "level",
    "status",
    "event_type",
    "score",
    "grade",
    "previous_grade",
    "reasons",
    "first_event_at",
    "event_time",
    "version",
)
#: The warning changes a snooze held back (the ``alerts`` row is written as for any other).
ALERT_SNOOZE_COLUMNS = ("alert_id", "version", "subject_id", "rule", "event_time")
ALERT_EVENT_COLUMNS = (
    "alert_id",
    "type",
    "level",
    "subject_id",
    "sector",
    "district",
    "rule",
    "time",
    "body",
)


def alert_rows(value: bytes) -> dict[str, list[Any]]:
    """An alert change -> its row of ``alerts`` (and of ``alert_events`` when it was sent)."""
    change = orjson.loads(value)
    doc = change["doc"]
    data = doc["data"]
    subject = data["subject"]
    event_time = parse_time(doc["time"])
    first = data.get("first_event_at")
    reasons = orjson.dumps(data.get("reasons", [])).decode()
    tables: dict[str, list[Any]] = {
        "alerts": [
            [
                data["alert_id"],
                subject["id"],
                subject["type"],
                subject.get("name", ""),
                data.get("sector", ""),
                data.get("district", ""),
                data["rule"],
                data["level"],
                data["status"],
                doc["type"],
                data.get("score") or 0,
                data.get("grade") or "",
                data.get("previous_grade") or "",
                reasons,
                parse_time(first) if first else event_time,
                event_time,
                change["version"],
            ]
        ]
    }
    if change.get("snoozed"):  # held back by a snooze: stored, marked, never delivered
        tables["alert_snoozes"] = [
            [data["alert_id"], change["version"], subject["id"], data["rule"], event_time]
        ]
    if change["notify"]:
        tables["alert_events"] = [
            [
                data["alert_id"],
                doc["type"],
                data["level"],
                subject["id"],
                data.get("sector", ""),
                data.get("district", ""),
                data["rule"],
                event_time,
                orjson.dumps(doc).decode(),
            ]
        ]
    return tables


SHADOW_ALERT_COLUMNS = (
    "shadow", "started_at", "side", "alert_id", "version", "change", "sent", "subject_id",
    "subject_type", "sector", "district", "rule", "level", "score", "grade", "first_event_at",
    "event_time",
)  # fmt: skip


def shadow_alert_rows(value: bytes) -> dict[str, list[Any]]:
    """A change of a shadow's comparison -> its row of ``shadow_alerts`` (and nothing else)."""
    change = orjson.loads(value)
    doc = change["doc"]
    data = doc["data"]
    event_time = parse_time(doc["time"])
    first = data.get("first_event_at")
    row = [
        change["shadow"],
        ms_to_time(int(change["started_ms"])),
        change["side"],
        data["alert_id"],
        change["version"],
        change["change"],
        int(bool(change["sent"])),
        data["subject"]["id"],
        data["subject"]["type"],
        data.get("sector", ""),
        data.get("district", ""),
        data["rule"],
        data["level"],
        data.get("score") or 0,
        data.get("grade") or "",
        parse_time(first) if first else event_time,
        event_time,
    ]
    return {"shadow_alerts": [row]}


METRIC_COUNT_COLUMNS = ("day", "sector", "district", "kind", "events", "version")
METRIC_ANOMALY_COLUMNS = ("day", "sector", "district", "kind", "value", "anomaly_score")


def metric_day_rows(value: bytes, version: int = 0) -> dict[str, list[Any]]:
    """A scored series-day -> its row of ``metric_day_counts`` and of ``metric_anomalies``.

    ``version`` orders the writes of one series-day (the sink passes the message's
    offset): ``metric_day_counts`` keeps the row with the highest, so a day written
    again replaces its count instead of adding to it.

    >>> rows = metric_day_rows(b'{"sector":"food_drug","district":"371102","kind":"penalty",'
    ...                        b'"day":"2026-03-04","events":41,"anomaly_score":0.5}', 7)
    >>> rows["metric_day_counts"], rows["metric_anomalies"][0][4:]
    ([[datetime.date(2026, 3, 4), 'food_drug', '371102', 'penalty', 41, 7]], [41.0, 0.5])
    """
    doc = orjson.loads(value)
    key = [date.fromisoformat(doc["day"]), doc["sector"], doc["district"], doc["kind"]]
    events = int(doc["events"])
    return {
        "metric_day_counts": [[*key, events, version]],
        "metric_anomalies": [[*key, float(events), float(doc["anomaly_score"])]],
    }


#: Every table the sink writes, with the columns its rows fill (in order).
MEASURE_COLUMNS = (
    "report_id",
    "measure_id",
    "measure_type",
    "subject_id",
    "department",
    "decision",
    "decided_at",
    "note",
    "topic",
    "partition",
    "offset",
)


def measure_row(report: MeasureReport, position: tuple[str, int, int]) -> list[Any]:
    """A validated measures-applied report -> a row of ``measures``."""
    return [
        report.report_id,
        report.measure_id,
        report.measure_type,
        report.subject_id,
        report.department,
        report.decision,
        report.decided_at,
        report.note,
        *position,
    ]


def rejected_measure_row(
    value: bytes, rejected: MeasureRejected, now: datetime, position: tuple[str, int, int]
) -> list[Any]:
    """A report that failed validation -> a row of ``dlq``, keyed by its own position."""
    raw = value.decode("utf-8", errors="replace")
    return [now, *position, rejected.reason, rejected.detail, "", raw, "", 0]


TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": EVENT_COLUMNS,
    "dlq": DLQ_COLUMNS,
    "scores": SCORE_COLUMNS,
    "entity_state": STATE_COLUMNS,
    "alerts": ALERT_COLUMNS,
    "alert_events": ALERT_EVENT_COLUMNS,
    "alert_snoozes": ALERT_SNOOZE_COLUMNS,
    "shadow_alerts": SHADOW_ALERT_COLUMNS,
    "metric_day_counts": METRIC_COUNT_COLUMNS,
    "metric_anomalies": METRIC_ANOMALY_COLUMNS,
    "measures": MEASURE_COLUMNS,
}
