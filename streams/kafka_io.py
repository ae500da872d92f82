"""Reading Kafka partitions to their true end: the one place that knows how.

Several parts of the worker read a set of partitions from chosen offsets up to
"the end" and then act on what they found: the fence read-back of the warning
topics (:mod:`creditbrain.streams.sent`), the model checkpoints
(:mod:`creditbrain.streams.checkpoints`), the supervisors' policies
(:mod:`creditbrain.streams.policies`), the lag the demo and the tests wait on
(:mod:`creditbrain.infra.lag`) and Faust's own changelog recovery
(:mod:`creditbrain.streams.compat_tansu`).

The end of a partition is taken from the high watermark that a Fetch response
reports, never from ListOffsets alone: the embedded broker answers ListOffsets
with the base offset of the last record batch plus one whenever that batch holds
several records (KNOWN_ISSUES item 1; 28 records gave 4). The fetch answer is
right on every broker, so the same code runs against a real Kafka cluster.

Two faces, for the two kinds of caller:

* :class:`PartitionReader` (aiokafka, on the caller's event loop): assign
  partitions, each from an offset or from its beginning, :meth:`~PartitionReader.read_to_end`,
  then, if the caller follows the topic, :meth:`~PartitionReader.poll` for more.
* :func:`true_ends` and :func:`end_offsets` (kafka-python, blocking: for executor
  threads and tools): the end offsets themselves. Faust's recovery needs them from
  a thread: an aiokafka consumer on Faust's consumer loop hung there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from kafka import KafkaConsumer
from kafka.structs import TopicPartition as SyncTopicPartition

from creditbrain.infra.kafka_security import aiokafka_options, kafka_python_options

__all__ = [
    "READ_FETCH_MAX_WAIT_MS",
    "EndNotReached",
    "PartitionReader",
    "end_offsets",
    "true_ends",
    "true_ends_async",
]

#: Fetch wait of a bounded read. The read ends with a fetch that finds nothing new,
#: which a broker answers only after this wait (the embedded broker delays every
#: answer by up to this much, KNOWN_ISSUES item 2): short, so a read ends soon after
#: it reaches the end.
READ_FETCH_MAX_WAIT_MS = 20

#: ``records(partition, records)``: what a read hands to its caller, batch by batch.
OnRecords = Callable[[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]], None]


class EndNotReached(TimeoutError):
    """A read did not reach the end of every partition in the time it was given."""


class _Partition(Protocol):
    """A topic-partition of any client library (aiokafka, kafka-python, Faust)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...


P = TypeVar("P", bound=_Partition)


class PartitionReader:
    """A consumer outside any group over chosen partitions, read to their true end.

    Parameters
    ----------
    bootstrap
        The brokers.
    fetch_max_wait_ms
        How long the broker may hold a fetch answer (see :data:`READ_FETCH_MAX_WAIT_MS`).
    max_partition_fetch_bytes
        Larger than the largest record the topics hold (model checkpoints are megabytes).

    Use it as ``async with PartitionReader(bootstrap) as reader:``, or call
    :meth:`start` and :meth:`stop` when the reader outlives one block.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        fetch_max_wait_ms: int = READ_FETCH_MAX_WAIT_MS,
        max_partition_fetch_bytes: int = 1024 * 1024,
    ) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms,
            max_partition_fetch_bytes=max_partition_fetch_bytes,
            **aiokafka_options(),
        )
        #: Records handed over by :meth:`read_to_end` since the reader started.
        self.read = 0

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def __aenter__(self) -> PartitionReader:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        """Every partition of those of ``topics`` that exist, in order."""
        present = await self.consumer.topics()
        return [
            TopicPartition(topic, p)
            for topic in sorted(set(topics) & present)
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]

    async def assign(self, starts: Mapping[TopicPartition, int | None]) -> None:
        """Read these partitions (only these), each from its offset; ``None``: its beginning."""
        self.consumer.assign(list(starts))
        from_beginning = [tp for tp, offset in starts.items() if offset is None]
        if from_beginning:
            await self.consumer.seek_to_beginning(*from_beginning)
        for tp, offset in starts.items():
            if offset is not None:
                self.consumer.seek(tp, offset)

    async def read_to_end(
        self, on_records: OnRecords, timeout_s: float | None = None
    ) -> dict[TopicPartition, int]:
        """Hand every record up to each assigned partition's end to ``on_records``.

        Returns the end of each partition: the high watermark the last fetch
        reported, which the read has reached. Raises :class:`EndNotReached` if
        ``timeout_s`` passes first.
        """
        consumer = self.consumer
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        waiting = set(consumer.assignment())
        ends: dict[TopicPartition, int] = {}
        while waiting:
            if deadline is not None and time.monotonic() >= deadline:
                raise EndNotReached(f"{len(waiting)} partitions not read to their end")
            batches = await consumer.getmany(*waiting, timeout_ms=200)
            for tp, records in batches.items():
                self.read += len(records)
                on_records(tp, records)
            for tp in list(waiting):
                # A fetch answer sets the high watermark; ListOffsets is never asked.
                highwater = consumer.highwater(tp)
                if highwater is not None and await consumer.position(tp) >= highwater:
                    ends[tp] = highwater
                    waiting.discard(tp)
        return ends

    async def poll(
        self, timeout_ms: int = 500
    ) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
        """The records that came since the last read (after :meth:`read_to_end`: to follow)."""
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
        batches = await self.consumer.getmany(timeout_ms=timeout_ms)
        return batches


def true_ends(bootstrap: str, listed: Mapping[P, int], timeout_s: float = 10.0) -> dict[P, int]:
    """The true end offsets of ``listed`` partitions (blocking).

    ``listed`` maps partitions (anything with ``topic`` and ``partition``) to the end
    that ListOffsets reported. For each non-empty one, a fetch from one record
    before it returns the partition's high watermark, which is exact; a partition
    whose fetch does not answer within ``timeout_s`` keeps its listed end.
    """
    result = dict(listed)
    wanted = {tp: offset for tp, offset in listed.items() if offset > 0}
    if not wanted:
        return result
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=READ_FETCH_MAX_WAIT_MS,
        consumer_timeout_ms=int(timeout_s * 1000),
        **kafka_python_options(),
    )
    try:
        by_sync = {SyncTopicPartition(tp.topic, tp.partition): tp for tp in wanted}
        consumer.assign(list(by_sync))
        for sync_tp, tp in by_sync.items():
            consumer.seek(sync_tp, wanted[tp] - 1)
        pending = set(by_sync)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1)
            for sync_tp in list(pending):
                highwater = consumer.highwater(sync_tp)
                if highwater is not None:
                    tp = by_sync[sync_tp]
                    result[tp] = max(highwater, wanted[tp])
                    pending.discard(sync_tp)
    finally:
        consumer.close()
    return result


def end_offsets(
    bootstrap: str, tps: Sequence[SyncTopicPartition], exact: bool = True
) -> dict[SyncTopicPartition, int]:
    """The end offset of each partition (blocking).

    ``exact=False`` takes the ListOffsets answer as it is: right on Apache Kafka,
    one fetch per partition cheaper, and short on the embedded broker.
    """
    if not tps:
        return {}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **kafka_python_options())
    try:
        listed: dict[SyncTopicPartition, int] = consumer.end_offsets(list(tps))
    finally:
        consumer.close()
    return true_ends(bootstrap, listed) if exact else listed


async def true_ends_async(
    bootstrap: str, listed: Mapping[P, int], timeout_s: float = 10.0
) -> dict[P, int]:
    """:func:`true_ends` from a coroutine, in an executor thread (for Faust's consumer loop)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, true_ends, bootstrap, listed, timeout_s)
