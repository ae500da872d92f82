"""Work-arounds for the embedded broker (Tansu 0.6), applied only when it is in use.

Tansu answers ListOffsets(LATEST) with the base offset of the last record batch
plus one, not the true end of the log, whenever that batch holds several records
(KNOWN_ISSUES.md item 1). Faust asks exactly that question to decide when a
table's changelog recovery is complete, so it stops early and silently loses the
last updates of a table. Fetch responses do carry the right high watermark:
:func:`patch_faust_for_tansu` makes Faust take its ends from
:func:`creditbrain.streams.kafka_io.true_ends`, as every other reader of the worker does.

Tansu also delays every fetch answer by up to ``fetch_max_wait_ms`` even when data
is there (item 2); Faust hard-codes 1,500 ms, which makes every event wait a
second. :func:`patch_faust_for_tansu` lowers it for the worker's consumer.

With a real Kafka broker none of this is installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from creditbrain.streams.kafka_io import true_ends_async

#: Fetch wait that gave ~15 ms p50 per event on Tansu instead of ~1 s (KNOWN_ISSUES item 2).
WORKER_FETCH_MAX_WAIT_MS = 20

_installed = False


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
        return await true_ends_async(bootstrap, listed)

    thread_cls._create_worker_consumer = _create_worker_consumer
    thread_cls._highwaters = _highwaters
    _installed = True
