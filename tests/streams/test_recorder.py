"""``pipeline_metrics``: a process's registry, minute by minute, into the store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from creditbrain.engine.engine import Counters
from creditbrain.infra.store import Store
from creditbrain.streams.metrics import PartitionLag, SinkMetrics, WorkerMetrics
from creditbrain.streams.recorder import COLUMNS, TABLE, MetricsRecorder
from creditbrain.streams.sink import SinkStats


def _values(rows: Sequence[Sequence[Any]]) -> dict[str, float]:
    return {row[1]: row[3] for row in rows}


def test_a_minute_holds_gauges_counter_increases_and_histogram_means() -> None:
    registry = CollectorRegistry()
    seconds = Histogram("creditbrain_batch_seconds", "t", buckets=(1, 2), registry=registry)
    failures = Counter("creditbrain_sink_failures", "f", registry=registry)
    age = Gauge("creditbrain_sink_flush_age_seconds", "a", registry=registry)
    recorder = MetricsRecorder(registry, write=lambda *_: None)
    failures.inc(3)
    age.set(float("nan"))  # no batch yet: no row rather than NaN
    assert recorder.sample(0.0) == []
    seconds.observe(0.5)
    seconds.observe(1.5)
    age.set(4.0)
    assert _values(recorder.sample(60.0)) == {
        "creditbrain_batch_seconds_mean": 1.0,
        "creditbrain_sink_failures_total": 0.0,
        "creditbrain_sink_flush_age_seconds": 4.0,
    }


def test_lag_is_summed_over_partitions_and_a_restart_is_no_negative_rate() -> None:
    registry = CollectorRegistry()
    ends = {("t.scores", 0): 10, ("t.scores", 1): 20}
    lag = PartitionLag(lambda topic, partition: ends[(topic, partition)])
    lag.read([("t.scores", 0, 4), ("t.scores", 1, 14)])
    stats = SinkStats()
    SinkMetrics(registry, stats, lag=lag)
    recorder = MetricsRecorder(registry, write=lambda *_: None)
    stats.rows["scores"] = 100
    recorder.sample(0.0)
    stats.rows["scores"] = 40  # the counter started again
    rows = _values(recorder.sample(60.0))
    assert rows['creditbrain_consumer_lag{topic="t.scores"}'] == 5 + 5
    assert 'creditbrain_sink_rows_total{table="scores"}' not in rows


async def test_the_recorder_writes_rows_the_pipeline_panel_reads(store: Store) -> None:
    registry = CollectorRegistry()
    worker = WorkerMetrics(registry, Counters, {}, input_topics=["t.events.penalty"])

    def write(table: str, rows: Any, columns: Any) -> None:  # as the sink writes
        store.client.insert(table, rows, column_names=list(columns), database=store.database)

    recorder = MetricsRecorder(registry, write, every_s=0.05)
    stopping = asyncio.Event()
    running = asyncio.create_task(recorder.run(stopping))
    await asyncio.sleep(0)  # the recorder takes its baseline
    worker.read(["t.events.penalty"] * 3)
    await asyncio.sleep(0.3)
    stopping.set()
    await running
    found = store.query_rows(
        "SELECT name, sum(value) AS total FROM dash_pipeline_metrics GROUP BY name ORDER BY name"
    )
    totals = {str(row["name"]): float(str(row["total"])) for row in found}
    assert totals['creditbrain_input_messages_total{topic="t.events.penalty"}'] == 3.0
    assert "creditbrain_state_subjects" in totals
    [labels] = store.query_rows(
        "SELECT labels FROM pipeline_metrics WHERE name LIKE 'creditbrain_input%' LIMIT 1"
    )
    assert labels["labels"] == {"topic": "t.events.penalty"}
    assert (TABLE, COLUMNS) == ("pipeline_metrics", ("ts", "name", "labels", "value"))
