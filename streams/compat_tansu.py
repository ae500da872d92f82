"""Work-arounds for the embedded broker (Tansu 0.6), applied only when it is in use.

Tansu answers ListOffsets(LATEST) with the base offset of the last record batch
plus one, not the true end of the log, whenever that batch holds several records
(KNOWN_ISSUES.md item 1). Faust asks exactly that question to decide when a
table's changelog recovery is complete, so it stops early and silently loses the
last updates of a table. Fetch responses do carry the right high watermark, so
:func:`true_highwaters` asks a Fetch from just before the reported end and takes
the high watermark the broker reports there.

Tansu also delays every fetch answer by up to ``fetch_max_wait_ms`` even when data
is there (item 2); Faust hard-codes 1,500 ms, which makes every event wait a
second. :func:`patch_faust_for_tansu` lowers it for the worker's consumer.

With a real Kafka broker none of this is installed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer
from kafka.structs import TopicPartition

#: Fetch wait that gave ~15 ms p50 per event on Tansu instead of ~1 s (KNOWN_ISSUES item 2).
WORKER_FETCH_MAX_WAIT_MS = 20

_installed = False


def true_highwaters(
    bootstrap: str, listed: Mapping[Any, int], timeout_s: float = 10.0
) -> dict[Any, int]:
    """The real end offsets of ``listed`` partitions, from Fetch responses.

    ``listed`` maps topic-partitions (anything with ``topic`` and ``partition``) to the
    end offset that ListOffsets reported. For each non-empty partition a fetch from
    ``offset - 1`` returns the broker's high watermark, which is exact.
    """
    result = dict(listed)
    wanted = {tp: off for tp, off in listed.items() if off > 0}
    if not wanted:
        return result
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    try:
        by_kafka_tp = {TopicPartition(tp.topic, tp.partition): tp for tp in wanted}
        consumer.assign(list(by_kafka_tp))
        for ktp, tp in by_kafka_tp.items():
            consumer.seek(ktp, wanted[tp] - 1)
        pending = set(by_kafka_tp)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1)
            for ktp in list(pending):
                highwater = consumer.highwater(ktp)
                if highwater is not None:
                    result[by_kafka_tp[ktp]] = max(highwater, wanted[by_kafka_tp[ktp]])
                    pending.discard(ktp)
    finally:
        consumer.close()
    return result


def patch_faust_for_tansu() -> None:
    """Install the two work-arounds into Faust's aiokafka driver (idempotent)."""
    global _installed
    if _installed:
        return
    from faust.transport.drivers import aiokafka as driver

    thread_cls: Any = driver.AIOKafkaConsumerThread
    original_create_worker_consumer = thread_cls._create_worker_consumer

    def _create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original_create_worker_consumer(self, transport)
        # aiokafka hands this value to its fetcher when the consumer starts.
        consumer._fetch_max_wait_ms = WORKER_FETCH_MAX_WAIT_MS
        return consumer

    async def _highwaters(self: Any, partitions: Sequence[Any]) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()
        listed = await consumer.end_offsets(partitions)
        urls = self.app.conf.broker_consumer or self.app.conf.broker
        bootstrap = ",".join(f"{url.host}:{url.port}" for url in urls)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, true_highwaters, bootstrap, listed)

    thread_cls._create_worker_consumer = _create_worker_consumer
    thread_cls._highwaters = _highwaters
    _installed = True
