"""Prometheus metrics of the worker and the sink (prometheus-client).

Each process builds its families on its own :class:`~prometheus_client.CollectorRegistry`
(so tests and the several services of ``serve`` do not collide) and serves it with
:class:`~creditbrain.infra.metrics_http.MetricsServer`.

What is counted on the hot path stays cheap: the per-batch histograms, and the dead
letters and warnings of the batch (few, read from their headers and bodies). The
rest is read from the counters the worker and the sink keep anyway, at scrape time.

Worker families: ``creditbrain_events_total{outcome}``,
``creditbrain_dead_letters_total{reason}``, ``creditbrain_warnings_total{level}``,
``creditbrain_batch_size``, ``creditbrain_batch_seconds``,
``creditbrain_state_subjects``, ``creditbrain_checkpoint_age_seconds``,
``creditbrain_input_messages_total{topic}``,
``creditbrain_consumer_lag{topic,partition}``. Sink families:
``creditbrain_sink_rows_total{table}``, ``creditbrain_sink_insert_seconds{table}``,
``creditbrain_sink_failures_total``, ``creditbrain_sink_flush_age_seconds``.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from typing import TYPE_CHECKING, Protocol

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from creditbrain.schemas.contract import DLQ, WARNINGS

if TYPE_CHECKING:
    from creditbrain.engine.engine import Counters
    from creditbrain.streams.processor import BatchResult

__all__ = ["PartitionLag", "SinkMetrics", "WorkerMetrics"]

_BATCH_SIZES = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

#: ``(topic, partition) -> messages behind`` of the process's own consumer.
LagSource = Callable[[], Mapping[tuple[str, int], int]]


class SinkCounts(Protocol):
    """What :class:`SinkMetrics` reads of the sink (``streams.sink.SinkStats``)."""

    @property
    def rows(self) -> Mapping[str, int]: ...
    @property
    def failures(self) -> int: ...
    @property
    def last_flush_at(self) -> float: ...
    @property
    def lag(self) -> Mapping[tuple[str, int], int]: ...


def _age(at: float) -> float:
    return max(time.time() - at, 0.0) if at else float("nan")


class WorkerMetrics:
    """The worker's families; :meth:`observe` is called once per processed batch.

    >>> from creditbrain.engine.engine import Counters
    >>> registry = CollectorRegistry()
    >>> metrics = WorkerMetrics(registry, lambda: Counters(applied=3), subjects={})
    >>> registry.get_sample_value("creditbrain_events_total", {"outcome": "applied"})
    3
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        counters: Callable[[], Counters],
        subjects: Sized,
        checkpointed_at: Callable[[], float] = lambda: 0.0,
        lag: LagSource | None = None,
        input_topics: Iterable[str] = (),
    ) -> None:
        self.inputs = Counter(
            "creditbrain_input_messages",
            "Input messages read, by department topic (a silent topic stays at its count).",
            ["topic"],
            registry=registry,
        )
        for topic in input_topics:  # every topic has a series from the start, at zero
            self.inputs.labels(topic)
        self.batch_size = Histogram(
            "creditbrain_batch_size",
            "Input messages per processed batch.",
            buckets=_BATCH_SIZES,
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "creditbrain_batch_seconds",
            "Time to process one batch (state, scores, warnings), outputs excluded.",
            buckets=_SECONDS,
            registry=registry,
        )
        self.dead_letters = Counter(
            "creditbrain_dead_letters",
            "Input messages sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.warnings = Counter(
            "creditbrain_warnings",
            "Warnings published to subscribers, by level.",
            ["level"],
            registry=registry,
        )
        registry.register(_WorkerState(counters, subjects, checkpointed_at, lag))

    def read(self, topics: Iterable[str]) -> None:
        """Count the input messages of a batch, one topic name per message."""
        for topic, count in collections.Counter(topics).items():
            self.inputs.labels(topic).inc(count)

    def observe(self, size: int, seconds: float, result: BatchResult) -> None:
        """Record one batch of ``size`` inputs that took ``seconds`` and gave ``result``."""
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)
        for message in result.outbound:
            if message.topic == DLQ:
                reason = dict(message.headers).get("reason", b"unknown").decode()
                self.dead_letters.labels(reason).inc()
            elif message.topic == WARNINGS:
                self.warnings.labels(_level(message.value)).inc()


def _level(body: bytes) -> str:
    """The level of a warning CloudEvent (``data.level``), ``unknown`` if unreadable.

    >>> _level(b'{"data": {"level": "red"}}')
    'red'
    >>> _level(b'not json')
    'unknown'
    """
    try:
        level = orjson.loads(body).get("data", {}).get("level")
    except (orjson.JSONDecodeError, AttributeError):
        return "unknown"
    return str(level) if level else "unknown"


class _WorkerState(Collector):
    """The worker's counters, state size, checkpoint age and lag, read at scrape time."""

    def __init__(
        self,
        counters: Callable[[], Counters],
        subjects: Sized,
        checkpointed_at: Callable[[], float],
        lag: LagSource | None,
    ) -> None:
        self.counters = counters
        self.subjects = subjects
        self.checkpointed_at = checkpointed_at
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        counts = self.counters()
        events = CounterMetricFamily(
            "creditbrain_events",
            "Input messages by outcome (every input ends in exactly one).",
            labels=["outcome"],
        )
        events.add_metric(["applied"], counts.applied)
        events.add_metric(["duplicate"], counts.duplicates)
        events.add_metric(["dead_letter"], counts.dead_letters)
        yield events
        for name, value, text in (
            ("score_changes", counts.score_changes, "Published score changes."),
            ("alert_changes", counts.alert_changes, "Warning openings, changes and closings."),
            ("model_errors", counts.model_errors, "Online model failures (rules still apply)."),
        ):
            yield CounterMetricFamily(f"creditbrain_{name}", text, value=value)
        yield GaugeMetricFamily(
            "creditbrain_state_subjects",
            "Subjects held in this worker's state.",
            len(self.subjects),
        )
        yield GaugeMetricFamily(
            "creditbrain_checkpoint_age_seconds",
            "Seconds since the models' last checkpoint (NaN: none yet).",
            _age(self.checkpointed_at()),
        )
        if self.lag is not None:
            yield _lag_family(self.lag())


def _lag_family(lag: Mapping[tuple[str, int], int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "creditbrain_consumer_lag",
        "Messages behind the end of each assigned partition.",
        labels=["topic", "partition"],
    )
    for (topic, partition), behind in sorted(lag.items()):
        family.add_metric([topic, str(partition)], behind)
    return family


class PartitionLag:
    """Messages behind the end of each partition a consumer reads, at scrape time.

    :meth:`read` notes the offsets a batch reached; the ends come from ``highwater``
    (the consumer's view of each partition's end, refreshed by every fetch). A
    partition whose end cannot be read (no longer assigned) is forgotten.

    >>> ends = {("credit.events.penalty", 0): 10}
    >>> lag = PartitionLag(lambda topic, partition: ends[(topic, partition)])
    >>> lag.read([("credit.events.penalty", 0, 3), ("credit.events.penalty", 0, 6)])
    >>> lag()
    {('credit.events.penalty', 0): 3}
    >>> ends.clear()  # revoked: the consumer no longer knows its end
    >>> lag()
    {}
    """

    def __init__(self, highwater: Callable[[str, int], int | None]) -> None:
        self.highwater = highwater
        self._reached: dict[tuple[str, int], int] = {}

    def read(self, positions: Iterable[tuple[str, int, int]]) -> None:
        """Note ``(topic, partition, offset)`` of the messages just read."""
        reached = self._reached
        for topic, partition, offset in positions:
            key = (topic, partition)
            if offset > reached.get(key, -1):
                reached[key] = offset

    def __call__(self) -> dict[tuple[str, int], int]:
        behind: dict[tuple[str, int], int] = {}
        for key, offset in list(self._reached.items()):
            try:
                end = self.highwater(*key)
            except Exception:  # revoked or not fetched yet: no figure rather than a wrong one
                end = None
            if end is None:
                self._reached.pop(key, None)
                continue
            behind[key] = max(end - offset - 1, 0)
        return behind


class SinkMetrics:
    """The sink's families: rows and insert latency per table, failures, flush age, lag.

    >>> from creditbrain.streams.sink import SinkStats
    >>> stats = SinkStats()
    >>> stats.rows["scores"] += 5
    >>> registry = CollectorRegistry()
    >>> metrics = SinkMetrics(registry, stats)
    >>> registry.get_sample_value("creditbrain_sink_rows_total", {"table": "scores"})
    5
    """

    def __init__(
        self, registry: CollectorRegistry, stats: SinkCounts, lag: LagSource | None = None
    ) -> None:
        self.insert_seconds = Histogram(
            "creditbrain_sink_insert_seconds",
            "Time of one insert into ClickHouse, by table.",
            ["table"],
            buckets=_SECONDS,
            registry=registry,
        )
        registry.register(_SinkState(stats, lag or (lambda: stats.lag)))

    def observe_insert(self, table: str, seconds: float) -> None:
        """Record one successful insert into ``table``."""
        self.insert_seconds.labels(table).observe(seconds)


class _SinkState(Collector):
    def __init__(self, stats: SinkCounts, lag: LagSource) -> None:
        self.stats = stats
        self.lag = lag

    def collect(self) -> Iterable[Metric]:
        rows = CounterMetricFamily(
            "creditbrain_sink_rows", "Rows written to ClickHouse, by table.", labels=["table"]
        )
        for table, count in sorted(self.stats.rows.items()):
            rows.add_metric([table], count)
        yield rows
        yield CounterMetricFamily(
            "creditbrain_sink_failures",
            "Failed inserts (the batch is kept and retried).",
            value=self.stats.failures,
        )
        yield GaugeMetricFamily(
            "creditbrain_sink_flush_age_seconds",
            "Seconds since the sink last wrote a batch (NaN: none yet).",
            _age(self.stats.last_flush_at),
        )
        yield _lag_family(self.lag())
