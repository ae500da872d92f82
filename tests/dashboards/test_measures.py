"""Measures applied: a department's report is validated, stored by the sink, and moves the KPI."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from creditbrain.dashboards.city import INDICATORS
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.lag import sink_topics
from creditbrain.infra.produce import make_producer
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import MEASURES, TopicSpec, topic_name
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.schemas.measures import MeasureRejected, parse_measure
from creditbrain.streams.sink import ClickHouseSink, rows_of
from tests.fixtures.store import on_every_store

DECIDED = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
APPLIED = next(i for i in INDICATORS if i.name == "Joint measures applied")
SCENARIOS = next(i for i in INDICATORS if i.name == "信易+ scenarios")


def report(subject: str, decision: str = "applied", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "schema_version": 1,
        "report_id": str(uuid.uuid4()),
        "measure_id": "P-restrict-bidding",
        "measure_type": "punishment",
        "subject_id": subject,
        "department": "municipal_development_reform",
        "decision": decision,
        "decided_at": DECIDED.isoformat(),
        "reported_at": (DECIDED + timedelta(hours=1)).isoformat(),
    }
    return body | changes


def codes(n: int) -> list[str]:
    rng = random.Random(7)
    return [generate_credit_code(rng, "371102") for _ in range(n)]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"subject_id": "913711020000000000"}, "bad_credit_code"),
        ({"subject_id": "p:xyz"}, "bad_person_id"),
        ({"decision": "maybe"}, "bad_field"),
        ({"measure_id": "a b'; --"}, "bad_field"),
        ({"decided_at": (DECIDED + timedelta(days=1)).isoformat()}, "future_event"),
        ({"decided_at": "2026-03-05T10:00:00"}, "bad_field"),  # no UTC offset
    ],
)
def test_a_bad_report_is_rejected_with_its_reason(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(MeasureRejected) as rejected:
        parse_measure(orjson.dumps(report(codes(1)[0], **changes)))
    assert rejected.value.reason == reason


def test_the_sink_stores_a_report_or_dead_letters_it() -> None:
    now = datetime.now(UTC)
    good = rows_of(MEASURES, orjson.dumps(report(codes(1)[0])), {}, now, ("t", 0, 1))
    assert list(good) == ["measures"] and good["measures"][0][5] == "applied"
    bad = rows_of(MEASURES, b"{not json", {}, now, ("t", 0, 2))
    assert list(bad) == ["dlq"]
    assert bad["dlq"][0][1:5] == ["t", 0, 2, "bad_json"]


def _kpi(store: Store, indicator: Any) -> object:
    window = TimeWindow(DECIDED - timedelta(days=30), DECIDED + timedelta(days=1), 86_400)
    return store.query_rows(expand(indicator.sql, window))[0]["value"]


async def _until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.mark.integration
@on_every_store
async def test_a_report_on_the_topic_moves_the_joint_measures_kpi(
    embedded_broker: EmbeddedBroker, store: Store, fresh_topic: Callable[[str], str]
) -> None:
    prefix = fresh_topic("m")
    bootstrap = embedded_broker.bootstrap
    ensure_topics(bootstrap, [TopicSpec(t, 1) for t in sink_topics(prefix)])
    topic = topic_name(prefix, MEASURES)

    def write(table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        store.client.insert(table, rows, column_names=list(columns), database=store.database)

    def send(bodies: list[bytes]) -> None:
        producer = make_producer(bootstrap)
        for body in bodies:
            producer.send(topic, key=b"k", value=body)
        producer.flush()
        producer.close()

    def stored(table: str) -> int:
        return int(store.query_rows(f"SELECT count() AS n FROM {table} FINAL")[0]["n"])  # noqa: S608

    first, second = codes(2)
    assert _kpi(store, APPLIED) is None  # nothing reported: not measured, not 100 %
    sink = ClickHouseSink(bootstrap, prefix, write, f"{prefix}-sink")
    task = asyncio.create_task(sink.run())
    try:
        declined = report(second, "declined")
        reward = report(first, measure_id="R-xinyidai-loan", measure_type="reward")
        await asyncio.to_thread(
            send, [orjson.dumps(b) for b in (report(first), declined, reward)] + [b"{oops"]
        )
        await _until(lambda: stored("measures") == 3 and stored("dlq") == 1, "three reports")
        assert _kpi(store, APPLIED) == round(100 * 2 / 3, 2)
        assert _kpi(store, SCENARIOS) == 1
        # The department applies the measure it had declined: the latest decision counts.
        later = (DECIDED + timedelta(minutes=30)).isoformat()
        applied = report(second, decided_at=later)
        await asyncio.to_thread(send, [orjson.dumps(applied), orjson.dumps(applied)])
        await _until(lambda: stored("measures") == 4, "the new decision, stored once")
        assert _kpi(store, APPLIED) == 100
        reason = store.query_rows("SELECT reason FROM dlq FINAL")[0]["reason"]
        assert reason == "bad_json"
    finally:
        sink.stop()
        await asyncio.wait_for(task, 30)
