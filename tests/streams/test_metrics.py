"""The worker's and sink's Prometheus families, read back with prometheus-client's parser."""

from __future__ import annotations

import orjson
from aiohttp import ClientSession
from prometheus_client import CollectorRegistry, generate_latest

from creditbrain.engine.engine import Counters
from creditbrain.infra.metrics_http import MetricsServer
from creditbrain.schemas.contract import DLQ, SCORES, WARNINGS
from creditbrain.streams.messages import Outbound
from creditbrain.streams.metrics import SinkMetrics, WorkerMetrics
from creditbrain.streams.processor import BatchResult
from creditbrain.streams.sink import SinkStats
from tests.infra.metrics_scrape import parse


def _warning(level: str) -> Outbound:
    return Outbound(WARNINGS, b"k", orjson.dumps({"data": {"level": level}}))


def _worker(registry: CollectorRegistry) -> WorkerMetrics:
    counts = Counters(applied=7, duplicates=1, dead_letters=2, score_changes=5)
    return WorkerMetrics(registry, lambda: counts, {"a": 1, "b": 2}, lambda: 1.0)


def test_a_batch_counts_dead_letters_by_reason_and_warnings_by_level() -> None:
    registry = CollectorRegistry()
    metrics = _worker(registry)
    result = BatchResult(
        outbound=[
            Outbound(DLQ, None, b"{}", [("reason", b"schema_invalid")]),
            Outbound(DLQ, None, b"{}", [("reason", b"schema_invalid")]),
            Outbound(SCORES, b"k", b"{}"),
            _warning("red"),
            _warning("orange"),
            _warning("red"),
        ]
    )
    metrics.observe(10, 0.02, result)
    samples = parse(generate_latest(registry).decode())
    assert samples[("creditbrain_dead_letters_total", (("reason", "schema_invalid"),))] == 2
    assert samples[("creditbrain_warnings_total", (("level", "red"),))] == 2
    assert samples[("creditbrain_warnings_total", (("level", "orange"),))] == 1
    assert samples[("creditbrain_batch_size_count", ())] == 1
    assert samples[("creditbrain_batch_size_sum", ())] == 10
    assert samples[("creditbrain_batch_seconds_sum", ())] == 0.02
    assert samples[("creditbrain_events_total", (("outcome", "applied"),))] == 7
    assert samples[("creditbrain_events_total", (("outcome", "dead_letter"),))] == 2
    assert samples[("creditbrain_score_changes_total", ())] == 5
    assert samples[("creditbrain_state_subjects", ())] == 2
    assert samples[("creditbrain_checkpoint_age_seconds", ())] > 1000


def test_sink_rows_and_insert_latency_by_table() -> None:
    registry = CollectorRegistry()
    stats = SinkStats()
    metrics = SinkMetrics(registry, stats, lag=lambda: {("credit.scores", 0): 4})
    stats.rows["scores"] += 12
    stats.failures = 1
    metrics.observe_insert("scores", 0.5)
    samples = parse(generate_latest(registry).decode())
    assert samples[("creditbrain_sink_rows_total", (("table", "scores"),))] == 12
    assert samples[("creditbrain_sink_failures_total", ())] == 1
    assert samples[("creditbrain_sink_insert_seconds_count", (("table", "scores"),))] == 1
    lag = ("creditbrain_consumer_lag", (("partition", "0"), ("topic", "credit.scores")))
    assert samples[lag] == 4


async def test_the_metrics_port_serves_metrics_and_health() -> None:
    registry = CollectorRegistry()
    _worker(registry)
    problem: list[str] = []
    server = MetricsServer(registry, "127.0.0.1", 0, lambda: problem[0] if problem else None)
    await server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        async with ClientSession() as session:
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                samples = parse(await response.text())
            async with session.get(f"{base}/health") as response:
                assert response.status == 200
            problem.append("restoring state")
            async with session.get(f"{base}/health") as response:
                assert response.status == 503
                assert (await response.json())["detail"] == "restoring state"
    finally:
        await server.stop()
    assert samples[("creditbrain_events_total", (("outcome", "applied"),))] == 7
