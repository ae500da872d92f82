"""The ``pipeline_metrics`` table: a minute-by-minute copy of a process's own metrics.

Prometheus is where operators watch and are paged (docs/operations.md); this table
keeps the same figures beside the data, for the pipeline-health dashboard of a
deployment without Prometheus (the one-machine mode) and for comparisons over the
table's 90 days. The process that writes to the store records its registry: the
sink in production (its rows, inserts, failures and lag), the whole pipeline in
``serve``, where the worker's families share the registry.

Each minute gives one row per series: a gauge's value (the consumer lag summed over
the partitions of a topic), a counter's increase over the minute, a histogram's mean
over the minute (``<name>_mean``, from its sum and count). The name carries the
labels in Prometheus' notation, so that the dashboard tells the series apart.

>>> from prometheus_client import CollectorRegistry, Counter
>>> registry = CollectorRegistry()
>>> rows = Counter("creditbrain_sink_rows", "Rows.", ["table"], registry=registry)
>>> recorder = MetricsRecorder(registry, write=lambda *_: None)
>>> rows.labels("scores").inc(5)
>>> recorder.sample(0.0)  # the first minute only sets the baseline of the counters
[]
>>> rows.labels("scores").inc(7)
>>> [(r[1], r[2], r[3]) for r in recorder.sample(60.0)]
[('creditbrain_sink_rows_total{table="scores"}', {'table': 'scores'}, 7.0)]
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

TABLE = "pipeline_metrics"
COLUMNS = ("ts", "name", "labels", "value")
#: Labels summed away before a row is written: one row per topic, not per partition.
_SUMMED = frozenset({"partition"})

Labels = tuple[tuple[str, str], ...]
Writer = Callable[[str, Sequence[Sequence[Any]], Sequence[str]], None]


def _series(name: str, labels: Labels) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in labels) + "}"


class MetricsRecorder:
    """Samples ``registry`` every ``every_s`` seconds into ``pipeline_metrics`` rows."""

    def __init__(self, registry: CollectorRegistry, write: Writer, every_s: float = 60.0) -> None:
        self.registry = registry
        self.write = write
        self.every_s = every_s
        self._counters: dict[tuple[str, Labels], float] = {}

    def _read(self) -> tuple[dict[tuple[str, Labels], float], dict[tuple[str, Labels], float]]:
        """``(gauges, counters)`` now, the partitions summed away."""
        gauges: dict[tuple[str, Labels], float] = defaultdict(float)
        counters: dict[tuple[str, Labels], float] = defaultdict(float)
        for family in self.registry.collect():
            for sample in family.samples:
                if math.isnan(sample.value) or sample.name.endswith(("_created", "_bucket")):
                    continue
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k not in _SUMMED))
                if family.type == "gauge":
                    gauges[(sample.name, labels)] += sample.value
                elif family.type in ("counter", "histogram", "summary"):
                    counters[(sample.name, labels)] += sample.value
        return gauges, counters

    def sample(self, now: float) -> list[tuple[datetime, str, dict[str, str], float]]:
        """The rows of the minute ending at ``now`` (Unix seconds)."""
        gauges, counters = self._read()
        previous, self._counters = self._counters, dict(counters)
        ts = datetime.fromtimestamp(now, UTC)
        found: dict[tuple[str, Labels], float] = dict(gauges)
        if previous:
            increases = {
                key: value - previous.get(key, 0.0)
                for key, value in counters.items()
                if value >= previous.get(key, 0.0)  # a restarted process starts again at 0
            }
            for (name, labels), increase in increases.items():
                if name.endswith("_sum"):
                    count = increases.get((name.removesuffix("_sum") + "_count", labels), 0.0)
                    if count > 0:
                        found[(name.removesuffix("_sum") + "_mean", labels)] = increase / count
                elif not name.endswith("_count"):
                    found[(name, labels)] = increase
        return [
            (ts, _series(name, labels), dict(labels), value)
            for (name, labels), value in sorted(found.items())
        ]

    async def run(self, stopping: asyncio.Event) -> None:
        """Write a minute's rows every ``every_s`` seconds until ``stopping`` is set.

        A write the store refuses is logged and that minute left out: the figures
        are in Prometheus all the same, and the sink's own retries are for the data.
        """
        self.sample(time.time())
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), timeout=self.every_s)
            except TimeoutError:
                pass
            rows = self.sample(time.time())
            if not rows:
                continue
            try:
                await asyncio.to_thread(self.write, TABLE, rows, COLUMNS)
            except Exception as error:  # the store is down: the sink's retries say so
                log.warning("pipeline_metrics: %d rows left out (%s)", len(rows), error)
