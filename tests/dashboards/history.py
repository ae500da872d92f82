"""Fill a store with a simulated city's history, the way the running system would.

The simulator's messages go through the stream's :class:`Processor` in batches and
its outputs become rows through the sink's own row functions, so the tables hold
exactly what the sink would write, without Kafka. A shadow policy set runs beside
the live one all year (food_drug's red wage-arrears threshold lowered to 3 workers),
as a worker following ``credit.policies.shadow`` would judge it. The tables no stream output
fills yet (metric counts and anomalies, audit, pipeline metrics, webhook dead
letters) get a few plausible rows; the registry holds the simulated population,
and departments report measures for the subjects with red warnings.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from creditbrain.alerts.policy import PolicyOverride
from creditbrain.dashboards.registry import registry_of_city, set_registry
from creditbrain.engine.shadow import Shadow, ShadowSet, apply_shadow_message
from creditbrain.infra.store import Store
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.schemas.contract import DLQ, topic_name
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig, Simulator
from creditbrain.streams import rows
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor
from creditbrain.streams.sink import rows_of

KEY = b"dashboards-test-key"
PREFIX = "credit"
#: The simulated year; dashboards are looked at as of its end.
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
SHADOW = Shadow(
    name="arrears-3",
    scope="sector=food_drug",
    override=PolicyOverride.model_validate(
        {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
    ),
    reason="arrears season",
    who="food-supervisor",
    started_at=START,
)


def fill(store: Store, scale: float = 0.02, batch: int = 500, seed: int = 3) -> dict[str, int]:
    """Simulate a city of ``scale`` for 2025 into ``store``; rows written per table."""
    city = CityConfig.scaled(scale, seed=seed)
    simulator = Simulator(city, pseudonym_key=KEY)
    processor = Processor({}, ParseContext(pseudonym_key=KEY), ScorecardConfig())
    processor.shadows = apply_shadow_message(ShadowSet(), b"arrears-3", SHADOW.to_json())
    inbound = [
        Inbound(topic_name(PREFIX, e.topic_suffix), 0, offset, e.key, e.value)
        for offset, e in enumerate(simulator.events())
    ]
    written: dict[str, int] = defaultdict(int)
    dlq_offset = 0
    for start in range(0, len(inbound), batch):
        tables: dict[str, list[list[Any]]] = defaultdict(list)
        now = datetime.now(UTC)
        for out in processor.process(inbound[start : start + batch]).outbound:
            position = (topic_name(PREFIX, out.topic), 0, dlq_offset)
            if out.topic == DLQ:
                dlq_offset += 1
            found = rows_of(out.topic, out.value, rows.header_map(out.headers), now, position)
            for table, new in found.items():
                tables[table].extend(new)
        for table, table_rows in tables.items():
            _insert(store, table, table_rows)
            written[table] += len(table_rows)
    _side_tables(store)
    set_registry(store, registry_of_city(city), "simulated city")
    _measures(store)
    return dict(written)


def _insert(store: Store, table: str, table_rows: list[list[Any]]) -> None:
    columns = rows.TABLE_COLUMNS[table]
    store.insert_rows(table, [dict(zip(columns, row, strict=True)) for row in table_rows], columns)


def _side_tables(store: Store) -> None:
    """Metrics from the events themselves, a few audits, pipeline metrics, a dead webhook."""
    store.command(
        "INSERT INTO metric_day_counts (day, sector, district, kind, events) "
        "SELECT toDate(occurred_at), sector, district, kind, count() "
        "FROM events GROUP BY 1, 2, 3, 4"
    )
    # The busiest cells of each district stand in for the detector's verdicts.
    store.command(
        "INSERT INTO metric_anomalies (day, sector, district, kind, value, anomaly_score) "
        "SELECT day, sector, district, kind, toFloat64(events), least(1.0, events / 10) "
        "FROM metric_day_counts FINAL ORDER BY events DESC LIMIT 3 BY district"
    )
    checks = [
        {
            "ts": START + timedelta(days=day, hours=3),
            "actor": "hall-7",
            "role": "service_hall",
            "action": "credit_check",
            "subject_id": "",
            "purpose": "administrative approval",
            "details": "{}",
        }
        for day in range(0, 365, 5)
    ]
    change = {
        "who": "supervisor-3",
        "when": "2025-06-01T02:00:00Z",
        "scope": "sector=food_drug",
        "before": None,
        "after": {"rules": {"penalty_burst": {"threshold": 2}}},
        "reason": "summer food safety campaign",
    }
    policies = [
        {
            "ts": START + timedelta(days=151),
            "actor": "supervisor-3",
            "role": "supervisor",
            "action": "policy_change",
            "subject_id": "",
            "purpose": change["reason"],
            "details": orjson.dumps({**change, "scope": scope}).decode(),
        }
        for scope in ("sector=food_drug", "*", "district=371102")
    ]
    audit_columns = ("ts", "actor", "role", "action", "subject_id", "purpose", "details")
    store.insert_rows("audit", checks + policies, audit_columns)
    now = datetime.now(UTC)
    metrics = [
        {"ts": now - timedelta(minutes=m), "name": name, "labels": {}, "value": float(m)}
        for m in range(10)
        for name in ("consumer_lag", "sink_rows_per_s")
    ]
    store.insert_rows("pipeline_metrics", metrics, ("ts", "name", "labels", "value"))
    webhook = {
        "id": "w1",
        "subscription_id": "grid-371102",
        "alert_id": "a1",
        "url": "https://grid.example/hook",
        "body": "{}",
        "attempts": 5,
        "last_error": "HTTP 503",
        "failed_at": now,
        "replayed_at": None,
    }
    store.insert_rows("webhook_dead_letters", [webhook], tuple(webhook))


#: Measures reported for each red-warned subject: two punishments (one declined
#: for the first subject) and, for A-grade subjects, none; three reward scenarios.
MEASURES = ("P-restrict-bidding", "P-restrict-subsidy")
REWARDS = ("R-xinyidai-loan", "R-xinyipi-fast-approval", "R-xinyizu-rental")


def _measures(store: Store) -> None:
    subjects = store.query_rows(
        "SELECT DISTINCT subject_id FROM alerts FINAL WHERE level = 'red' ORDER BY subject_id"
    )
    good = store.query_rows(
        "SELECT subject_id FROM entity_state FINAL WHERE grade = 'A' ORDER BY subject_id LIMIT 3"
    )
    rows = []
    at = END - timedelta(days=20)
    for index, subject in enumerate(subjects):
        for measure in MEASURES:
            declined = index == 0 and measure == MEASURES[1]
            rows.append(_measure(measure, "punishment", str(subject["subject_id"]), declined, at))
    for reward, subject in zip(REWARDS, good, strict=False):
        rows.append(_measure(reward, "reward", str(subject["subject_id"]), False, at))
    columns = ("report_id", "measure_id", "measure_type", "subject_id", "department",
               "decision", "decided_at", "note", "topic", "partition", "offset")  # fmt: skip
    store.insert_rows("measures", rows, columns)


def _measure(
    measure: str, kind: str, subject: str, declined: bool, at: datetime
) -> dict[str, object]:
    return {
        "report_id": uuid.uuid4(),
        "measure_id": measure,
        "measure_type": kind,
        "subject_id": subject,
        "department": "municipal_development_reform",
        "decision": "declined" if declined else "applied",
        "decided_at": at,
        "note": "",
        "topic": "credit.measures.applied",
        "partition": 0,
        "offset": 0,
    }
