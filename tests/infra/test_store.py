"""The store and its migrations, against the real chDB engine.

The store-level tests run on every DSN of :data:`~tests.fixtures.store.on_every_store`:
chDB, ClickHouse's HTTP interface on loopback, and a real server when ``CLICKHOUSE_URL``
is set; the ones about chDB's data path and lock run on chDB alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from creditbrain.core.errors import ConfigurationError, StoreError
from creditbrain.infra.migrate import applied_migrations, available_migrations
from creditbrain.infra.store import Store, connect, migrate
from creditbrain.streams.messages import METRIC_DAYS
from creditbrain.streams.rows import TABLE_COLUMNS
from creditbrain.streams.sink import rows_of
from tests.fixtures.store import drop_database, on_every_store

pytestmark = pytest.mark.integration

T = "DateTime64(3, 'UTC')"
LC = "LowCardinality(String)"
EXPECTED_COLUMNS: dict[str, dict[str, str]] = {
    "webhook_subscriptions": {
        "id": "String", "url": "String", "secret": "String", "feed": LC,
        "levels": "Array(LowCardinality(String))", "sectors": "Array(LowCardinality(String))",
        "districts": "Array(LowCardinality(String))", "owner": "String", "role": LC,
        "created_at": T, "deleted": "UInt8", "version": "UInt64",
    },
    "cases": {
        "case_id": "String", "subject_id": "String", "subject_type": LC,
        "subject_name": "String", "sector": LC, "district": LC, "team": LC, "level": LC,
        "state": LC, "disposition": LC, "alerts": "String",
        "rules": "Array(LowCardinality(String))",
        "score": "UInt16", "grade": LC, "opened_at": T, "raised_at": T,
        "acknowledged_at": f"Nullable({T})", "disposed_at": f"Nullable({T})",
        "acknowledge_due": T, "dispose_due": T, "round": "UInt32", "overdue_alert_id": "String",
        "overdue_at": f"Nullable({T})", "requests": "Array(String)", "version": "UInt64",
        "recorded_at": T,
    },
    "case_transitions": {
        "case_id": "String", "version": "UInt64", "event": LC, "from_state": LC, "to_state": LC,
        "disposition": LC, "actor": "String", "role": LC, "note": "String",
        "attachments": "Array(String)", "request_id": "String", "at": T,
    },
    "alert_snoozes": {
        "alert_id": "String", "version": "UInt64", "subject_id": "String", "rule": LC,
        "event_time": T,
    },
    "shadow_alerts": {
        "shadow": LC, "started_at": T, "side": LC, "alert_id": "String", "version": "UInt64",
        "change": LC, "sent": "UInt8", "subject_id": "String", "subject_type": LC, "sector": LC,
        "district": LC, "rule": LC, "level": LC, "score": "UInt16", "grade": LC,
        "first_event_at": T, "event_time": T,
    },
    "shadow_policies": {
        "name": "String", "scope": "String", "override": "String", "reason": "String",
        "who": "String", "started_at": T, "ended_at": f"Nullable({T})", "version": "UInt64",
    },
    "watchlists": {
        "id": "String", "name": "String", "subject_ids": "Array(String)", "owner": "String",
        "role": LC, "created_at": T, "version": "UInt64",
    },
    "subscription_subjects": {
        "subscription_id": "String", "watchlist": "String", "subject_ids": "Array(String)",
        "version": "UInt64",
    },
    "policy_previews": {
        "id": "String", "actor": "String", "scope": "String", "status": LC,
        "created_at": T, "request": "String", "result": "String", "revision": "UInt32",
    },
    "alert_acks": {
        "alert_id": "String", "acknowledged_by": "String", "role": LC, "note": "String",
        "acknowledged_at": T,
    },
    "events": {
        "event_id": "UUID", "kind": LC, "subject_id": "String", "subject_type": LC,
        "subject_name": "String", "source": "String", "sector": LC, "district": LC,
        "occurred_at": T, "reported_at": T, "payload": "String", "topic": "String",
        "partition": "UInt32", "offset": "UInt64", "ingested_at": T,
    },
    "dlq": {
        "received_at": T, "topic": "String", "partition": "UInt32", "offset": "UInt64",
        "reason": LC, "detail": "String", "event_id": "String", "raw": "String",
        "resolution": LC, "revision": "UInt8",
    },
    "scores": {
        "subject_id": "String", "subject_type": LC, "sector": LC, "district": LC, "as_of": T,
        "score": "UInt16", "grade": LC, "previous_score": "Nullable(UInt16)",
        "previous_grade": LC, "event_id": "String", "cause": LC, "reasons": "String",
        "recorded_at": T,
    },
    "entity_state": {
        "subject_id": "String", "subject_type": LC, "subject_name": "String", "sector": LC,
        "district": LC, "score": "UInt16", "grade": LC, "reasons": "String",
        "records": "UInt32", "last_event_at": T, "updated_at": T, "version": "UInt64",
    },
    "alerts": {
        "alert_id": "String", "subject_id": "String", "subject_type": LC,
        "subject_name": "String", "sector": LC, "district": LC, "rule": LC, "level": LC,
        "status": LC, "event_type": "String", "score": "UInt16", "grade": LC,
        "previous_grade": LC, "reasons": "String", "first_event_at": T, "event_time": T,
        "acknowledged_by": "String", "acknowledged_at": f"Nullable({T})", "version": "UInt64",
        "recorded_at": T,
    },
    "alert_events": {
        "alert_id": "String", "type": LC, "level": LC, "subject_id": "String", "sector": LC,
        "district": LC, "rule": LC, "time": T, "body": "String",
    },
    "webhook_dead_letters": {
        "id": "String", "subscription_id": "String", "alert_id": "String", "url": "String",
        "body": "String", "attempts": "UInt32", "last_error": "String", "failed_at": T,
        "replayed_at": f"Nullable({T})",
    },
    "metric_counts": {
        "day": "Date", "sector": LC, "district": LC, "kind": LC, "events": "UInt64",
    },
    "metric_day_counts": {
        "day": "Date", "sector": LC, "district": LC, "kind": LC, "events": "UInt64",
        "version": "UInt64",
    },
    "metric_anomalies": {
        "day": "Date", "sector": LC, "district": LC, "kind": LC, "value": "Float64",
        "anomaly_score": "Float64", "recorded_at": T,
    },
    "pipeline_metrics": {
        "ts": T, "name": LC, "labels": "Map(String, String)", "value": "Float64",
    },
    "audit": {
        "ts": T, "actor": "String", "role": LC, "action": LC, "subject_id": "String",
        "purpose": "String", "details": "String",
    },
    "measures": {
        "report_id": "UUID", "measure_id": LC, "measure_type": LC, "subject_id": "String",
        "department": LC, "decision": LC, "decided_at": T, "note": "String", "topic": "String",
        "partition": "UInt32", "offset": "UInt64", "ingested_at": T,
    },
    "subject_registry": {
        "subject_type": LC, "registered": "UInt64", "as_of": T, "source": "String",
    },
    "schema_migrations": {"name": "String", "checksum": "String", "applied_at": T},
}  # fmt: skip

BASE = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
EVENT_COLUMNS = tuple(EXPECTED_COLUMNS["events"])


def event(number: int, event_id: uuid.UUID | None = None, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": event_id or uuid.uuid4(),
        "kind": "penalty",
        "subject_id": f"91371100MA3C{number % 500:06d}",
        "subject_type": "legal_person",
        "subject_name": "Example Trading Co.",
        "source": "market-supervision",
        "sector": f"sector-{number % 12}",
        "district": f"district-{number % 7}",
        "occurred_at": BASE + timedelta(minutes=number),
        "reported_at": BASE + timedelta(minutes=number, seconds=5),
        "payload": '{"amount": 5000}',
        "topic": "credit.events.penalty",
        "partition": number % 4,
        "offset": number,
        "ingested_at": BASE + timedelta(hours=1),
    }
    return row | changes


@on_every_store
def test_a_fresh_database_is_migrated_once(store_dsn: str) -> None:
    with connect(store_dsn, f"t_{uuid.uuid4().hex}") as store:
        try:
            assert applied_migrations(store) == []
            names = [migration.name for migration in available_migrations()]
            assert migrate(store) == names
            assert migrate(store) == []
            assert [applied.name for applied in applied_migrations(store)] == names
        finally:
            drop_database(store)


@on_every_store
def test_every_table_has_the_expected_columns(store: Store) -> None:
    rows = store.query_rows(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} "
        "AND table IN (SELECT name FROM system.tables WHERE database = {db:String} "
        "AND engine != 'View') ORDER BY table, position",
        {"db": store.database},
    )
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(str(row["table"]), {})[str(row["name"])] = str(row["type"])
    assert found == EXPECTED_COLUMNS


@on_every_store
def test_an_edited_migration_is_refused(store: Store) -> None:
    store.insert_rows(
        "schema_migrations",
        [{"name": "0001_events", "checksum": "edited", "applied_at": datetime.now(UTC)}],
        ("name", "checksum", "applied_at"),
    )
    with pytest.raises(StoreError, match="0001_events changed after it was applied"):
        migrate(store)


@on_every_store
def test_a_redelivered_event_collapses(store: Store) -> None:
    event_id = uuid.uuid4()
    store.insert_rows("events", [event(1, event_id)], EVENT_COLUMNS)
    later = event(1, event_id, ingested_at=BASE + timedelta(hours=2))
    store.insert_rows("events", [later, event(2)], EVENT_COLUMNS)

    count = "SELECT count() AS n FROM events {final} WHERE event_id = {{id:UUID}}"
    assert store.query_rows(count.format(final=""), {"id": event_id}) == [{"n": 2}]
    assert store.query_rows(count.format(final="FINAL"), {"id": event_id}) == [{"n": 1}]
    store.command("OPTIMIZE TABLE events FINAL")
    rows = store.query_rows(
        "SELECT event_id, ingested_at FROM events WHERE event_id = {id:UUID}", {"id": event_id}
    )
    assert rows == [{"event_id": event_id, "ingested_at": BASE + timedelta(hours=2)}]


@on_every_store
def test_a_series_day_written_again_replaces_its_count(store: Store) -> None:
    """A day re-scored after a crash, or a batch read again, is counted once: the last write."""

    def day(events: int, offset: int) -> dict[str, list[object]]:
        value = orjson.dumps(
            {"sector": "food_drug", "district": "371102", "kind": "penalty",
             "day": "2026-03-04", "events": events, "anomaly_score": 0.2}
        )  # fmt: skip
        return rows_of(METRIC_DAYS, value, {}, BASE, ("credit.metric.days", 0, offset))

    def insert(tables: dict[str, list[list[object]]]) -> None:
        for table, table_rows in tables.items():
            columns = TABLE_COLUMNS[table]
            store.insert_rows(
                table, [dict(zip(columns, row, strict=True)) for row in table_rows], columns
            )

    insert(day(41, 10))
    insert(day(41, 10))  # the same message read again
    again = day(43, 25)  # the day scored again, with two late events
    insert({t: day(41, 10)[t] + again[t] for t in again})  # both in one batch
    total = "SELECT sum(events) AS n FROM metric_day_counts FINAL"
    assert store.query_rows(total) == [{"n": 43}]
    store.command("OPTIMIZE TABLE metric_day_counts FINAL")
    assert store.query_rows("SELECT events, version FROM metric_day_counts") == [
        {"events": 43, "version": 25}
    ]


@on_every_store
def test_a_hostile_string_is_data(store: Store) -> None:
    hostile = "'; DROP TABLE events; --"
    columns = ("actor", "role", "action", "subject_id", "purpose", "details")
    row = dict.fromkeys(columns, hostile) | {"action": "credit_check"}
    store.insert_rows("audit", [row], columns)

    rows = store.query_rows(
        "SELECT purpose, action FROM audit WHERE actor = {actor:String}", {"actor": hostile}
    )
    assert rows == [{"purpose": hostile, "action": "credit_check"}]
    assert store.query_rows("SELECT count() AS n FROM events") == [{"n": 0}]


@on_every_store
def test_values_must_be_bound_server_side(store: Store) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        store.query_rows("SELECT * FROM audit WHERE actor = %(actor)s", {"actor": "x"})


@on_every_store
def test_sector_district_slices_read_the_projection(store: Store) -> None:
    store.insert_rows("events", [event(n) for n in range(40_000)], EVENT_COLUMNS)
    rows = store.query_rows(
        "SELECT count() AS n FROM events WHERE sector = {s:String} AND district = {d:String} "
        "AND occurred_at < {t:DateTime64(3, 'UTC')} "
        "SETTINGS force_optimize_projection_name = 'by_sector_district'",
        {"s": "sector-3", "d": "district-3", "t": BASE + timedelta(days=10)},
    )
    # n % 12 == 3 and n % 7 == 3: n = 3 + 84k, of which 172 fall in the first 10 days.
    assert rows == [{"n": 172}]


@on_every_store
def test_threads_share_one_store(store: Store) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(15):
                row = event(n, subject_id=f"worker-{worker}")
                store.insert_rows("events", [row], EVENT_COLUMNS)
                count = store.query_rows(
                    "SELECT count() AS n FROM events WHERE subject_id = {s:String}",
                    {"s": f"worker-{worker}"},
                )
                assert count == [{"n": n + 1}]
        except BaseException as error:  # re-raised in the test thread below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_the_same_path_twice_gives_working_stores(store: Store, chdb_dsn: str) -> None:
    with connect(chdb_dsn, store.database) as again:
        again.insert_rows("dlq", [{"reason": "bad_json", "raw": "{"}], ("reason", "raw"))
        assert store.query_rows("SELECT reason, raw FROM dlq") == [
            {"reason": "bad_json", "raw": "{"}
        ]


def test_a_second_path_in_one_process_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="one data path per process"):
        connect(f"chdb://{tmp_path / 'other'}", "creditbrain")


def test_a_second_process_gets_store_locked_error(store: Store, chdb_dsn: str) -> None:
    script = (
        "import sys\n"
        "from creditbrain.core.errors import StoreLockedError\n"
        "from creditbrain.infra.store import connect\n"
        "try:\n"
        "    connect(sys.argv[1], 'creditbrain')\n"
        "except StoreLockedError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, chdb_dsn], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
    path = chdb_dsn.removeprefix("chdb://")
    assert "another creditbrain process (probably `creditbrain serve`" in result.stdout
    assert path in result.stdout
    assert f"pid {os.getpid()}" in result.stdout


@pytest.mark.parametrize(
    "dsn", ["chdb://relative/path", "ftp://example.org", "chdb://memory"], ids=str
)
def test_unusable_dsns_are_configuration_errors(dsn: str) -> None:
    with pytest.raises(ConfigurationError):
        connect(dsn, "creditbrain")


def test_an_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot reach ClickHouse at http://reader:\*\*\*@"):
        connect("http://reader:secret@127.0.0.1:1", "creditbrain")
