"""The ClickHouse sink: the stream's output topics, in batches, into the store.

The sink is its own consumer group on the worker's output topics (accepted events,
dead letters, score changes, warnings). It commits a batch's offsets only after the
batch is in ClickHouse, so a store outage just lets the lag grow: Kafka is the
buffer, the worker keeps processing, and nothing is lost once the store is back.
Duplicates after a crash are harmless because every table collapses repeated rows
(ReplacingMergeTree keyed by event id, score change, alert id, source offset or
series-day). A series-day written twice (a batch read again, or a day scored again
after the series watch resumed from an older checkpoint) replaces its count in
``metric_day_counts``, versioned by the offset of its message, rather than adding
to it.

While the store refuses writes, the batch in hand is retried with a backoff that
doubles up to ``retry_max_delay`` (5 s by default, so the store's return is noticed
within seconds); the tables already written are not written again. A stop during
an outage leaves without committing, so the next start writes the batch again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka.errors import CommitFailedError
from tenacity import AsyncRetrying, retry_if_exception_type

from creditbrain.core.retrying import doubling, log_before_sleep, stop_when_set
from creditbrain.infra.groups import group_consumer
from creditbrain.schemas.contract import DLQ, MEASURES, SCORES, topic_name
from creditbrain.schemas.measures import MeasureRejected, parse_measure
from creditbrain.streams import rows
from creditbrain.streams.messages import ACCEPTED, ALERTS_LOG, METRIC_DAYS, SHADOW_ALERTS
from creditbrain.streams.metrics import SinkMetrics
from creditbrain.streams.recorder import MetricsRecorder

log = logging.getLogger(__name__)


RowWriter = Callable[[str, Sequence[Sequence[Any]], Sequence[str]], None]
#: ``handler(value, headers, now, (topic, partition, offset)) -> {table: [row, ...]}``.
Handler = Callable[[bytes, dict[str, str], datetime, tuple[str, int, int]], dict[str, list[Any]]]


@dataclass
class SinkStats:
    """What the sink has done, for the progress display and the health endpoint."""

    batches: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: int = 0
    last_flush_at: float = 0.0
    last_error: str = ""
    #: ``(topic, partition) -> messages behind the partition's end`` at the last batch.
    lag: dict[tuple[str, int], int] = field(default_factory=dict)


class ClickHouseSink:
    """Consume output topics and write them to ClickHouse, committing after each write.

    Parameters
    ----------
    bootstrap
        Kafka bootstrap servers.
    prefix
        The contract's topic prefix.
    write
        ``write(table, rows, columns)``: one insert (blocking; runs in a thread).
    group_id
        Consumer group of the sink.
    max_records
        Most records in one batch.
    retry_max_delay
        Longest wait, in seconds, between two tries of a write the store refused.
    """

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        write: RowWriter,
        group_id: str,
        max_records: int = 20_000,
        retry_max_delay: float = 5.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.write = write
        self.group_id = group_id
        self.max_records = max_records
        self.retry_max_delay = retry_max_delay
        self.stats = SinkStats()
        #: Prometheus families (streams/metrics.py), when the process serves metrics.
        self.metrics: SinkMetrics | None = None
        #: Writes the process's metrics into ``pipeline_metrics`` each minute, if set.
        self.recorder: MetricsRecorder | None = None
        self._handlers: dict[str, Handler] = {
            topic_name(prefix, suffix): handler for suffix, handler in HANDLERS.items()
        }
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to finish after the batch in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume and write until :meth:`stop`; a failed write is retried, never skipped."""
        consumer = group_consumer(
            self.bootstrap, self.group_id, *self._handlers, max_partition_fetch_bytes=8 << 20
        )
        await consumer.start()
        recording = None
        if self.recorder is not None:
            recording = asyncio.create_task(self.recorder.run(self._stopping))
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if not batch:
                    continue
                tables = self._to_rows(batch)
                self._note_lag(consumer, batch)
                if not await self._write_until_done(tables):
                    break  # stopped during an outage: the batch stays uncommitted
                try:
                    await consumer.commit()
                except CommitFailedError as error:
                    # The group moved on (e.g. after an outage longer than the poll
                    # interval): the batch is stored and will be read again; the tables'
                    # keys collapse the repeated rows.
                    log.warning("sink commit failed (%s); the batch will be re-read", error)
        finally:
            if recording is not None:
                recording.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recording
            await consumer.stop()

    def _note_lag(self, consumer: Any, batch: dict[Any, list[Any]]) -> None:
        for tp, records in batch.items():
            end = consumer.highwater(tp)
            if end is not None and records:
                self.stats.lag[(tp.topic, tp.partition)] = max(end - records[-1].offset - 1, 0)

    def _to_rows(self, batch: dict[Any, list[Any]]) -> dict[str, list[Any]]:
        now = datetime.now(UTC)
        tables: dict[str, list[Any]] = defaultdict(list)
        for tp, records in batch.items():
            handler = self._handlers[tp.topic]
            for record in records:
                headers = rows.header_map(record.headers)
                position = (record.topic, record.partition, record.offset)
                for table, new_rows in handler(record.value, headers, now, position).items():
                    tables[table].extend(new_rows)
        return tables

    async def _write_until_done(self, tables: dict[str, list[Any]]) -> bool:
        """Write every table of the batch; ``False`` if stopped before all were written.

        Each try writes the tables still pending, so a table the store took is not
        written again; the wait doubles across the tries of one batch.
        """
        pending = {t: r for t, r in tables.items() if r}
        retrying = AsyncRetrying(
            wait=doubling(min(0.5, self.retry_max_delay), self.retry_max_delay),
            stop=stop_when_set(self._stopping),
            sleep=self._sleep_unless_stopped,
            retry=retry_if_exception_type(_Refused),
            before_sleep=log_before_sleep(
                log, "sink write to %s failed (%s); retrying in %.1fs", describe=_Refused.describe
            ),
            reraise=True,
        )
        tries = 0

        async def attempt() -> None:
            nonlocal tries
            tries += 1
            if tries > 1 and self._stopping.is_set():
                # asked to stop while waiting for the store: the next start writes the rest
                raise _Refused("", "stopping")
            await self._write_pending(pending)

        try:
            await retrying(attempt)
        except _Refused:  # stopped during an outage: the batch stays uncommitted
            return False
        self.stats.batches += 1
        self.stats.last_flush_at = time.time()
        return True

    async def _write_pending(self, pending: dict[str, list[Any]]) -> None:
        """One try: write the pending tables in turn, removing each one the store took."""
        for table, table_rows in list(pending.items()):
            began = time.perf_counter()
            try:
                await asyncio.to_thread(self.write, table, table_rows, rows.TABLE_COLUMNS[table])
            except Exception as error:  # the store is down or refusing: keep the batch, retry
                self.stats.failures += 1
                self.stats.last_error = f"{table}: {error}"[:500]
                raise _Refused(table, error) from error
            self.stats.rows[table] += len(table_rows)
            if self.metrics is not None:
                self.metrics.observe_insert(table, time.perf_counter() - began)
            del pending[table]

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass


class _Refused(Exception):
    """The store refused ``table``'s rows (``error``): the try ends, the batch is kept."""

    def __init__(self, table: str, error: object) -> None:
        super().__init__(table, error)
        self.table = table
        self.error = error

    @staticmethod
    def describe(error: BaseException) -> tuple[object, ...]:
        return (error.table, error.error) if isinstance(error, _Refused) else ("?", error)


Position = tuple[str, int, int]


def _accepted(
    value: bytes, headers: dict[str, str], now: datetime, _: Position
) -> dict[str, list[Any]]:
    return {"events": [rows.event_row(value, headers, now)]}


def _dead_letter(
    value: bytes, headers: dict[str, str], now: datetime, position: Position
) -> dict[str, list[Any]]:
    return {"dlq": [rows.dlq_row(value, headers, now, position)]}


def _score(
    value: bytes, headers: dict[str, str], now: datetime, _: Position
) -> dict[str, list[Any]]:
    score, state = rows.score_rows(value, now)
    if score[10] == "current":  # a restatement after a redelivery: no new history
        return {"entity_state": [state]}
    return {"scores": [score], "entity_state": [state]}


def _alert(
    value: bytes, headers: dict[str, str], now: datetime, _: Position
) -> dict[str, list[Any]]:
    return rows.alert_rows(value)


def _shadow_alert(
    value: bytes, headers: dict[str, str], now: datetime, _: Position
) -> dict[str, list[Any]]:
    return rows.shadow_alert_rows(value)


def _metric_day(
    value: bytes, headers: dict[str, str], now: datetime, position: Position
) -> dict[str, list[Any]]:
    return rows.metric_day_rows(value, version=position[2])


def _measure(
    value: bytes, headers: dict[str, str], now: datetime, position: Position
) -> dict[str, list[Any]]:
    # Departments write this topic directly (it changes no score), so it is validated
    # here and a bad report is a dead letter like a bad event.
    try:
        return {"measures": [rows.measure_row(parse_measure(value), position)]}
    except MeasureRejected as rejected:
        return {"dlq": [rows.rejected_measure_row(value, rejected, now, position)]}


#: Output topic suffix -> how its messages become rows.
HANDLERS: dict[str, Handler] = {
    ACCEPTED: _accepted,
    DLQ: _dead_letter,
    SCORES: _score,
    ALERTS_LOG: _alert,
    SHADOW_ALERTS: _shadow_alert,
    METRIC_DAYS: _metric_day,
    MEASURES: _measure,
}


def rows_of(
    suffix: str, value: bytes, headers: dict[str, str], now: datetime, position: Position
) -> dict[str, list[Any]]:
    """The rows the sink writes for one output message (none for topics it does not store)."""
    handler = HANDLERS.get(suffix)
    return handler(value, headers, now, position) if handler else {}
