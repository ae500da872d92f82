"""Where the worker keeps its model checkpoints: the compacted topic ``<app id>-models``.

* :class:`ModelKeeper` writes the learned models (the early-warning models and the
  series banks) every ``interval`` seconds and when the worker stops, and hands the
  latest checkpoint per key to the worker when it starts: a restarted worker
  resumes learning where the last checkpoint left it. It keeps following the topic,
  so a worker that takes partitions over finds the checkpoints their previous
  holder wrote.
* :func:`export_checkpoints` writes the checkpoints on the topic to one file
  (:func:`creditbrain.models.checkpoint.write_file`), and :func:`load_models_file`
  gives the models back from such a file: how a backtest starts from what the
  worker has learned.

The bytes of each checkpoint are :mod:`creditbrain.models.checkpoint`'s; the same
topic also holds the fences of the warning topics (:mod:`creditbrain.streams.sent`),
which a checkpoint file leaves out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from mode import Service

from creditbrain.infra.kafka_security import aiokafka_options
from creditbrain.models import checkpoint
from creditbrain.models.features import FeatureState
from creditbrain.models.series.watch import SeriesTrack
from creditbrain.models.subject import EarlyWarning
from creditbrain.streams.kafka_io import READ_FETCH_MAX_WAIT_MS, PartitionReader

log = logging.getLogger(__name__)

#: Key of the early-warning models' checkpoint on the models topic.
EARLY_WARNING_KEY = "early-warning"
#: Checkpoints run to megabytes; a fetch must be able to carry the largest.
_MAX_RECORD_BYTES = 64 * 1024 * 1024


def _keep(
    latest: MutableMapping[str, bytes], records: Sequence[ConsumerRecord[bytes, bytes]]
) -> None:
    """The latest value per key, as compaction will leave it (an empty value deletes)."""
    for record in records:
        if record.key is None:
            continue
        if record.value:
            latest[record.key.decode()] = record.value
        else:
            latest.pop(record.key.decode(), None)


def _reader(bootstrap: str, fetch_max_wait_ms: int = READ_FETCH_MAX_WAIT_MS) -> PartitionReader:
    return PartitionReader(
        bootstrap, fetch_max_wait_ms=fetch_max_wait_ms, max_partition_fetch_bytes=_MAX_RECORD_BYTES
    )


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
        #: Wall-clock time of the last checkpoint written (0: none yet), for its age.
        self.checkpointed_at = 0.0
        self._producer: AIOKafkaProducer | None = None
        self._reader: PartitionReader | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self._ensure_topic()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks=self.acks,
            max_request_size=_MAX_RECORD_BYTES,
            **aiokafka_options(),
        )
        await self._producer.start()
        # Followed for as long as the worker runs: a longer fetch wait keeps it quiet.
        reader = self._reader = _reader(self.bootstrap, fetch_max_wait_ms=100)
        await reader.start()
        await reader.assign({TopicPartition(self.topic, 0): None})
        await reader.read_to_end(lambda _, records: _keep(self.latest, records))
        self.on_loaded(dict(self.latest))
        log.info("model checkpoints loaded: %s", ", ".join(sorted(self.latest)) or "none")
        self.ready.set()

    @Service.task
    async def _follow(self) -> None:
        """Keep up with checkpoints other workers write (taken over with their partitions)."""
        await self.ready.wait()
        reader = self._reader
        while reader is not None and not self.should_stop:
            for records in (await reader.poll(timeout_ms=500)).values():
                _keep(self.latest, records)

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
        self.checkpointed_at = time.time()
        log.info("model checkpoint written: %s", ", ".join(sorted(blobs)) or "nothing new")
        return len(blobs)

    async def on_stop(self) -> None:
        try:
            await self.checkpoint(everything=True)
        finally:
            if self._reader is not None:
                await self._reader.stop()
            if self._producer is not None:
                await self._producer.stop()

    async def _ensure_topic(self) -> None:
        """Create the checkpoint topic and the ``also_create`` topics that are missing."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **aiokafka_options())
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


def models_topic(app_id: str) -> str:
    """The checkpoint topic of the worker ``app_id``.

    >>> models_topic("creditbrain")
    'creditbrain-models'
    """
    return f"{app_id}-models"


async def read_checkpoints(bootstrap: str, topic: str, timeout_s: float = 60.0) -> dict[str, bytes]:
    """The latest value of every key of ``topic``, read to its true end."""
    latest: dict[str, bytes] = {}
    async with _reader(bootstrap) as reader:
        tps = await reader.partitions([topic])
        if not tps:
            raise checkpoint.CheckpointError(f"no checkpoint topic {topic} on {bootstrap}")
        await reader.assign(dict.fromkeys(tps))
        await reader.read_to_end(lambda _, records: _keep(latest, records), timeout_s)
    return latest


def export_checkpoints(bootstrap: str, app_id: str, out: Path, timeout_s: float = 60.0) -> int:
    """Write the worker ``app_id``'s current model checkpoints to the file ``out``.

    Returns how many checkpoints the file holds (fences and other keys are left out).
    Blocking: for the command line and tests, not for the worker's event loop.
    """
    latest = asyncio.run(read_checkpoints(bootstrap, models_topic(app_id), timeout_s))
    written = checkpoint.write_file(out, latest)
    log.info("%d model checkpoints of %s written to %s", written, app_id, out)
    return written


@dataclass(frozen=True)
class WarmModels:
    """The models of a checkpoint file, ready to go on learning."""

    #: ``None`` when the file holds no early-warning checkpoint.
    early_warning: EarlyWarning | None
    #: Checkpoint key (``series-<partition>``) -> series key -> track.
    series_banks: dict[str, dict[str, SeriesTrack]]

    @property
    def series_tracks(self) -> dict[str, SeriesTrack]:
        """Every series of the file in one bank (each series lives in exactly one bank)."""
        return {key: track for bank in self.series_banks.values() for key, track in bank.items()}


def load_models_file(
    path: Path, feature_states: MutableMapping[str, FeatureState] | None = None
) -> WarmModels:
    """The models of a file from :func:`export_checkpoints`.

    ``feature_states`` is where the early-warning models keep per-subject features
    from now on (empty at first: a file holds no subject).
    """
    found = checkpoint.read_file(path)
    return WarmModels(found.early_warning(feature_states), found.series_banks(SeriesTrack))
