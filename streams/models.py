"""The online models in the stream: per-subject early warning, city-level series, checkpoints.

Three pieces, each small:

* :class:`FeatureStates` lets the early-warning models
  (:class:`~creditbrain.models.subject.EarlyWarning`) keep what they remember about
  a subject inside that subject's :class:`~creditbrain.schemas.state.EntityState`
  (``model_memo``), so it travels on the subjects table's changelog and moves with
  the subject's partition; no second table, no second write, and no JSON per event
  (the object is kept and written as JSON with the subject's changelog record).
* :class:`SeriesWatch` turns the daily event counts per sector × district × kind
  into ``metric_anomaly`` warnings. Each worker counts the events it applies and
  sends the partial counts to the internal topic ``<app id>-metric-counts`` keyed
  by district, so every series is summed and watched by exactly one worker whatever
  the number of workers; a day is scored by the series detector
  (:class:`~creditbrain.models.series.SeriesDetector`) once the event-time
  watermark of the watch is ``grace_days`` past it.
* :class:`ModelKeeper` writes the learned models to the compacted internal topic
  ``<app id>-models`` every ``interval`` seconds and when the worker stops, and
  hands the latest checkpoints to the worker when it starts: a restarted worker
  resumes learning where the last checkpoint left it.

What is exact and what is not: scores are a function of each subject's events only,
and rule warnings of those events in the order the worker saw them; both are
reproduced exactly by any number of workers and restarts for the same per-subject
order (docs/stream.md). The online models learn from the order in which one worker sees its
partitions and resume from a checkpoint taken up to ``interval`` seconds before a
crash, so their opinions (``anomalous_deterioration``, ``predicted_serious_default``,
``metric_anomaly``) are close, not identical, across topologies and crashes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from mode import Service

from creditbrain.models.features import FeatureState
from creditbrain.models.series.watch import SeriesTrack as SeriesTrack
from creditbrain.models.series.watch import SeriesWatch as _SeriesWatch
from creditbrain.models.series.watch import WatchCounters as WatchCounters
from creditbrain.models.series.watch import bank_key as bank_key
from creditbrain.models.series.watch import day_of as day_of
from creditbrain.models.series.watch import district_counts
from creditbrain.models.series.watch import dump_bank as dump_bank
from creditbrain.models.series.watch import load_bank as load_bank
from creditbrain.models.series.watch import series_of as series_of
from creditbrain.schemas.state import EntityState, Memos
from creditbrain.streams.messages import Inbound, Outbound, alert_messages

log = logging.getLogger(__name__)

#: Output name of the partial daily counts (mapped to ``<app id>-metric-counts``).
METRIC_COUNTS = "metric.counts"
#: Key of the early-warning models' checkpoint on the models topic.
EARLY_WARNING_KEY = "early-warning"


class FeatureStates(Memos[FeatureState]):
    """The early-warning models' feature states, held in each subject's ``model_memo``."""

    def __init__(self, states: Mapping[str, EntityState]) -> None:
        super().__init__(states, "model_memo", FeatureState.from_json)


def count_messages(counts: Mapping[tuple[str, str, str, int], int]) -> list[Outbound]:
    """One worker's counts of a batch as messages to the counts topic, one per district."""
    return [
        Outbound(METRIC_COUNTS, district.encode(), value)
        for district, value in district_counts(counts)
    ]


class SeriesWatch(_SeriesWatch):
    """The series watch (:class:`creditbrain.models.series.watch.SeriesWatch`) with messages out."""

    def process(  # type: ignore[override]
        self, batch: Sequence[Inbound], checkpoints: Mapping[str, bytes] | None = None
    ) -> list[Outbound]:
        """Add a batch of partial counts; return the messages of the warnings it raises."""
        return [m for update in super().process(batch, checkpoints) for m in alert_messages(update)]


class ModelKeeper(Service):
    """Reads the latest model checkpoints at start, writes new ones while the worker runs.

    Parameters
    ----------
    bootstrap, topic
        Where the checkpoints live (one compacted partition, created if missing).
    snapshot
        ``snapshot(everything) -> {key: bytes}``: the checkpoints to write now
        (``everything`` at shutdown).
    on_loaded
        Called once with the latest checkpoint per key before :attr:`ready` is set.
    interval
        Seconds between checkpoints.
    replication_factor
        Of the topic, when it is created here.
    acks
        ``"all"`` or ``"1"``, as the worker's other producers.
    also_create
        Other internal topics (name -> partitions) that must exist before the agents
        take their first batch: the producer must not meet a topic being created.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        snapshot: Callable[[bool], dict[str, bytes]],
        on_loaded: Callable[[dict[str, bytes]], None],
        interval: float = 30.0,
        replication_factor: int = 1,
        acks: str = "all",
        also_create: dict[str, int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.also_create = also_create or {}
        self.acks: int | str = "all" if acks == "all" else 1
        self.topic = topic
        self.snapshot = snapshot
        self.on_loaded = on_loaded
        self.interval = interval
        self.replication_factor = replication_factor
        self.latest: dict[str, bytes] = {}
        self.ready = asyncio.Event()
        self.written = 0
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self._ensure_topic()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks=self.acks, max_request_size=64 * 1024 * 1024
        )
        await self._producer.start()
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=64 * 1024 * 1024,
        )
        await consumer.start()
        tp = TopicPartition(self.topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        # The end is the high watermark of a fetch response: the embedded broker's
        # ListOffsets answer can be short of it (KNOWN_ISSUES item 1).
        while True:
            batch = await consumer.getmany(tp, timeout_ms=500)
            self._keep(batch.get(tp, []))
            highwater = consumer.highwater(tp)
            if highwater is not None and await consumer.position(tp) >= highwater:
                break
        self.on_loaded(dict(self.latest))
        log.info("model checkpoints loaded: %s", ", ".join(sorted(self.latest)) or "none")
        self.ready.set()

    def _keep(self, records: Sequence[Any]) -> None:
        for record in records:
            if record.key is not None and record.value:
                self.latest[record.key.decode()] = record.value

    @Service.task
    async def _follow(self) -> None:
        """Keep up with checkpoints other workers write (taken over with their partitions)."""
        await self.ready.wait()
        consumer = self._consumer
        while consumer is not None and not self.should_stop:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                self._keep(records)

    @Service.task
    async def _every_interval(self) -> None:
        await self.ready.wait()
        while not self.should_stop:
            await self.sleep(self.interval)
            if not self.should_stop:
                await self.checkpoint()

    async def checkpoint(self, everything: bool = False) -> int:
        """Write the current checkpoints; returns how many were written."""
        producer = self._producer
        if producer is None or not self.ready.is_set():
            return 0
        blobs = self.snapshot(everything)
        for key, value in blobs.items():
            await producer.send(self.topic, value=value, key=key.encode(), partition=0)
        await producer.flush()
        self.written += len(blobs)
        log.info("model checkpoint written: %s", ", ".join(sorted(blobs)) or "nothing new")
        return len(blobs)

    async def on_stop(self) -> None:
        try:
            await self.checkpoint(everything=True)
        finally:
            for client in (self._consumer, self._producer):
                if client is not None:
                    await client.stop()

    async def _ensure_topic(self) -> None:
        """Create the checkpoint topic and the ``also_create`` topics that are missing."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(
                    self.topic,
                    num_partitions=1,
                    replication_factor=self.replication_factor,
                    topic_configs={"cleanup.policy": "compact"},
                ),
                *(
                    NewTopic(name, num_partitions=n, replication_factor=self.replication_factor)
                    for name, n in self.also_create.items()
                ),
            ]
            missing = [topic for topic in wanted if topic.name not in existing]
            try:
                if missing:
                    await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
        finally:
            await admin.close()
