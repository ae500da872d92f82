"""The online models in the stream: per-subject early warning, city-level series, checkpoints.

Three pieces, each small:

* :class:`~creditbrain.engine.subject.FeatureStates` lets the early-warning models
  (:class:`~creditbrain.models.subject.EarlyWarning`) keep what they remember about
  a subject inside that subject's record (``features``), so it travels on the
  subjects table's changelog and moves with the subject's partition; no second
  table, no second write, and no JSON per event (the object is kept and written as
  JSON with the subject's changelog record).
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
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from mode import Service

from creditbrain.alerts.metric import SeriesKey, metric_alert
from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.rules import DAY_MS
from creditbrain.models.series import SeriesDetector
from creditbrain.streams.messages import Inbound, Outbound, alert_messages

log = logging.getLogger(__name__)

#: Output name of the partial daily counts (mapped to ``<app id>-metric-counts``).
METRIC_COUNTS = "metric.counts"
#: Key of the early-warning models' checkpoint on the models topic.
EARLY_WARNING_KEY = "early-warning"
#: China Standard Time, in which the city's days begin.
_CST_MS = 8 * 3600 * 1000
_EPOCH = date(1970, 1, 1)
_SERIES_MAGIC = b"CBSW\x01"


def day_of(epoch_ms: int) -> int:
    """Days since 1970-01-01 of the CST calendar day holding ``epoch_ms``.

    >>> day_of(0), day_of(16 * 3600 * 1000 - 1), day_of(16 * 3600 * 1000)
    (0, 0, 1)
    """
    return (epoch_ms + _CST_MS) // DAY_MS


def count_messages(counts: Mapping[tuple[str, str, str, int], int]) -> list[Outbound]:
    """One worker's counts of a batch, ``(sector, district, kind, day) -> n``, as messages.

    One message per district (its key), listing ``[sector, kind, day, n]``: a batch
    of a thousand events touches hundreds of series-days but a handful of districts,
    and each message costs the series agent far more than its entries do. Every
    series of a district is therefore summed by the worker that holds the district's
    partition of ``<app id>-metric-counts``.
    """
    by_district: dict[str, list[list[str | int]]] = {}
    for (sector, district, kind, day), count in sorted(counts.items()):
        by_district.setdefault(district, []).append([sector, kind, day, count])
    return [
        Outbound(
            METRIC_COUNTS, district.encode(), orjson.dumps({"district": district, "counts": rows})
        )
        for district, rows in by_district.items()
    ]


@dataclass
class SeriesTrack:
    """One series being watched: its detector, the counts of its open days, the last scored day."""

    detector: SeriesDetector
    open: dict[int, int] = field(default_factory=dict)
    scored_through: int | None = None


@dataclass
class WatchCounters:
    days_scored: int = 0
    warnings: int = 0
    late_counts: int = 0
    bad_messages: int = 0


class SeriesWatch:
    """Sums partial daily counts per series and scores each closed day online.

    Parameters
    ----------
    policies
        Returns the warning policies in force (the worker's live set).
    grace_days
        A day is closed (scored) once a count for a day this much later has arrived;
        counts for a closed day are counted as late and left out.
    make_detector
        A fresh detector for a series seen for the first time (by default one that
        keeps 400 days of history: enough to find a weekly cycle, small to checkpoint).

    Series without events on a day are not visited every day: their zero days are
    scored when their next count closes, so a series that falls silent is judged
    when it speaks again.
    """

    def __init__(
        self,
        policies: Callable[[], PolicySet],
        grace_days: int = 1,
        make_detector: Callable[[], SeriesDetector] = lambda: SeriesDetector(history=400),
    ) -> None:
        self.policies = policies
        self.grace_days = grace_days
        self.make_detector = make_detector
        #: Partition of the counts topic -> series key -> track.
        self.banks: dict[int, dict[str, SeriesTrack]] = {}
        self.dirty: set[int] = set()
        self.watermark_day: int | None = None
        self.counters = WatchCounters()

    def bank(self, partition: int, checkpoint: bytes | None = None) -> dict[str, SeriesTrack]:
        """The tracks of ``partition``, restored from ``checkpoint`` the first time it is seen."""
        bank = self.banks.get(partition)
        if bank is None:
            bank = {}
            if checkpoint:
                try:
                    bank = load_bank(checkpoint)
                except Exception:
                    log.exception("series checkpoint of partition %d not used", partition)
            self.banks[partition] = bank
            for track in bank.values():
                if track.scored_through is not None:
                    self._see(track.scored_through + self.grace_days)
        return bank

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the tracks of partitions this worker no longer holds (after a rebalance)."""
        for partition in [p for p in self.banks if p not in partitions]:
            del self.banks[partition]
            self.dirty.discard(partition)

    def process(
        self, batch: Sequence[Inbound], checkpoints: Mapping[str, bytes] | None = None
    ) -> list[Outbound]:
        """Add a batch of partial counts; return the warnings of the days it closes."""
        checkpoints = checkpoints or {}
        for message in batch:
            try:
                doc = orjson.loads(message.value)
                district = str(doc["district"])
                entries = [
                    (SeriesKey(str(sector), district, str(kind)), int(day), int(count))
                    for sector, kind, day, count in doc["counts"]
                ]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                self.counters.bad_messages += 1
                log.warning("series count message at offset %d skipped", message.offset)
                continue
            partition = message.partition
            bank = self.bank(partition, checkpoints.get(bank_key(partition)))
            for series, day, count in entries:
                self._add(bank, series, day, count)
            self.dirty.add(partition)
        return self._close()

    def _add(self, bank: dict[str, SeriesTrack], series: SeriesKey, day: int, count: int) -> None:
        track = bank.get(series.key)
        if track is None:
            track = bank[series.key] = SeriesTrack(self.make_detector())
        if track.scored_through is not None and day <= track.scored_through:
            self.counters.late_counts += count
            return
        track.open[day] = track.open.get(day, 0) + count
        self._see(day)

    def _see(self, day: int) -> None:
        if self.watermark_day is None or day > self.watermark_day:
            self.watermark_day = day

    def _close(self) -> list[Outbound]:
        if self.watermark_day is None:
            return []
        until = self.watermark_day - self.grace_days
        out: list[Outbound] = []
        policies = self.policies()
        for partition, bank in self.banks.items():
            for key, track in bank.items():
                if not track.open or min(track.open) > until:
                    continue
                self.dirty.add(partition)
                for day in sorted(d for d in track.open if d <= until):
                    start = day if track.scored_through is None else track.scored_through + 1
                    for quiet in range(start, day):
                        out += self._score(key, track, quiet, 0, policies)
                    out += self._score(key, track, day, track.open.pop(day), policies)
        return out

    def _score(
        self, key: str, track: SeriesTrack, day: int, count: int, policies: PolicySet
    ) -> list[Outbound]:
        point = {"timestamp": float(day * 86_400), "value": float(count)}
        try:
            score = track.detector.score_one(point)
            track.detector.learn_one(point)
        except Exception:
            log.exception("series detector of %s failed; starting it afresh", key)
            track.detector, score = self.make_detector(), 0.0
        track.scored_through = day
        self.counters.days_scored += 1
        update = metric_alert(series_of(key), _EPOCH + timedelta(days=day), count, score, policies)
        if update is None:
            return []
        self.counters.warnings += 1
        return alert_messages(update)

    def checkpoints(self, everything: bool = False) -> dict[str, bytes]:
        """Checkpoints of the banks changed since the last call (or of all of them)."""
        partitions = set(self.banks) if everything else self.dirty & set(self.banks)
        self.dirty = set()
        return {bank_key(p): dump_bank(self.banks[p]) for p in sorted(partitions)}


def series_of(key: str) -> SeriesKey:
    """The inverse of :attr:`SeriesKey.key`.

    >>> series_of("sector=food_drug|district=371102|kind=penalty")
    SeriesKey(sector='food_drug', district='371102', kind='penalty')
    """
    parts = dict(part.split("=", 1) for part in key.split("|"))
    return SeriesKey(parts["sector"], parts["district"], parts["kind"])


def bank_key(partition: int) -> str:
    """Key of one counts partition's series checkpoint on the models topic."""
    return f"series-{partition}"


def dump_bank(bank: dict[str, SeriesTrack]) -> bytes:
    return _SERIES_MAGIC + pickle.dumps(bank, protocol=pickle.HIGHEST_PROTOCOL)


def load_bank(data: bytes) -> dict[str, SeriesTrack]:
    """A bank from :func:`dump_bank`; checkpoints come only from our own topic."""
    if not data.startswith(_SERIES_MAGIC):
        raise ValueError("not a series checkpoint of this format")
    bank = pickle.loads(data[len(_SERIES_MAGIC) :])  # noqa: S301 - our own writer only
    if not isinstance(bank, dict):
        raise ValueError(f"series checkpoint holds a {type(bank).__name__}")
    return bank


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
