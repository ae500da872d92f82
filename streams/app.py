"""The Faust application: topics, the subject state table and the scoring agent.

Reading top to bottom is reading the flow: the six input topics of the contract
feed one agent, which takes messages in batches, hands each batch to the
:class:`~creditbrain.streams.processor.Processor` and writes back what it returns:
changed subject states into the table (changelog in Kafka), output messages to
the contract's topics. The agent holds no credit rule.

The input topics are keyed by subject id and co-partitioned, so a subject's
events and its table entry live in the same partition number; table writes name
that partition explicitly because one batch mixes partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.serializers import codecs
from faust.tables.table import Table
from faust.types import TP, EventT, StreamT
from kafka.structs import TopicPartition
from mode import ServiceT
from prometheus_client import CollectorRegistry
from tenacity import AsyncRetrying, stop_after_attempt

from creditbrain.alerts.policy import PolicySet
from creditbrain.core.retrying import growing, log_before_sleep
from creditbrain.engine.subject import FeatureStates
from creditbrain.infra.kafka_security import faust_credentials
from creditbrain.infra.lag import backlog
from creditbrain.models import checkpoint
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.contract import (
    DLQ,
    POLICIES,
    SCORES,
    SHADOW_POLICIES,
    SNOOZES,
    WARNINGS,
    WARNINGS_GRID,
    input_topics,
    topic_name,
)
from creditbrain.schemas.events import ParseContext
from creditbrain.streams.checkpoints import EARLY_WARNING_KEY, ModelKeeper, models_topic
from creditbrain.streams.compat_faust import patch_faust_recovery_resume
from creditbrain.streams.compat_tansu import patch_faust_for_tansu
from creditbrain.streams.messages import (
    ACCEPTED,
    ALERTS_LOG,
    METRIC_DAYS,
    SHADOW_ALERTS,
    Inbound,
)
from creditbrain.streams.metrics import PartitionLag, WorkerMetrics
from creditbrain.streams.models import METRIC_COUNTS, SeriesWatch
from creditbrain.streams.output import DEFAULT_REQUEST_TIMEOUT_MS, OutputProducer
from creditbrain.streams.policies import PolicyFollower, ShadowFollower
from creditbrain.streams.processor import BatchResult, Processor
from creditbrain.streams.sent import fence_key, oldest, parse_fence
from creditbrain.streams.snoozes import SnoozeFollower
from creditbrain.streams.subjects import HeldSubject

log = logging.getLogger(__name__)

#: How long the output producer waits for the embedded broker to answer a request.
_EMBEDDED_REQUEST_TIMEOUT_MS = 5_000
#: Tries of the read-back of sent warnings after a rebalance (1 s, 2 s, ... between).
_RECALL_ATTEMPTS = 5


class SubjectCodec(codecs.Codec):
    """Table values travel on the changelog in :meth:`HeldSubject.to_json` form."""

    def _dumps(self, obj: Any) -> bytes:
        return obj.to_json()  # type: ignore[no-any-return]

    def _loads(self, s: bytes) -> Any:
        return HeldSubject.from_json(s)


class SubjectKeyCodec(codecs.Codec):
    """Table keys are subject ids: UTF-8 text on the changelog, ``str`` in memory."""

    def _dumps(self, obj: Any) -> bytes:
        return obj.encode() if isinstance(obj, str) else bytes(obj)

    def _loads(self, s: bytes) -> Any:
        return s.decode()


codecs.register("entity_state", SubjectCodec())
codecs.register("subject_key", SubjectKeyCodec())


@dataclass(frozen=True)
class StreamConfig:
    """What the worker needs, as plain values (built from the settings by the caller)."""

    app_id: str
    bootstrap: str
    prefix: str
    partitions: int
    ctx: ParseContext
    scorecard: ScorecardConfig
    embedded_broker: bool
    store_url: str = "memory://"
    batch_size: int = 1000
    batch_within: float = 0.02
    max_message_bytes: int = 1024 * 1024
    data_dir: str = ".creditbrain/faust"
    replication_factor: int = 1
    #: ``"all"`` or ``"1"``: what every producer of the worker waits for.
    acks: str = "all"
    models: bool = True
    checkpoint_interval: float = 30.0


@dataclass
class Stream:
    """The app and the objects a host process may want to look at."""

    app: faust.App
    processor: Processor
    table: Table[str, HeldSubject]
    on_batch: list[Callable[[BatchResult], None]]
    #: Services that must run beside the worker (the policy follower, the model keeper).
    services: list[ServiceT] = field(default_factory=list)
    watch: SeriesWatch | None = None
    keeper: ModelKeeper | None = None
    #: The worker's Prometheus families (streams/metrics.py), on :attr:`registry`.
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    metrics: WorkerMetrics | None = None


def _table(app: faust.App, config: StreamConfig, name: str, codec: str) -> Table[str, HeldSubject]:
    """A table whose keys and values travel through our codecs, on the changelog as in memory.

    Faust would otherwise derive JSON from the (absent) key/value types for its changelog
    writes, so the changelog topic and the table's own serializers are set explicitly.
    """
    key_codec = "subject_key"
    changelog = app.topic(
        f"{config.app_id}-{name}-changelog",
        partitions=config.partitions,
        compacting=True,
        internal=True,
        key_serializer=key_codec,
        value_serializer=codec,
    )
    table = app.Table(
        name,
        schema=faust.Schema(key_serializer=key_codec, value_serializer=codec),
        partitions=config.partitions,
        changelog_topic=changelog,
    )
    # app.Table is typed as the abstract TableT; the serializers live on the class.
    if not isinstance(table, Table):
        raise TypeError(f"the app's Table class is {type(table).__name__}, not faust's Table")
    table.key_serializer = key_codec
    table.value_serializer = codec
    return table


def _changelog(
    table: Table[str, HeldSubject], result: BatchResult
) -> list[tuple[str, int, bytes, bytes]]:
    """The changelog records of the subjects ``result`` changed, in their partitions."""
    topic = table.changelog_topic.get_topic_name()
    return [
        (topic, partition, key.encode(), table.data[key].to_json())
        for key, partition in result.dirty.items()
    ]


def _inbound(batch: Sequence[EventT[bytes]]) -> list[Inbound]:
    """Faust's events as the processors' plain messages.

    A message without a value (a tombstone) becomes an empty one, which the
    processor dead-letters as unreadable instead of failing the batch.
    """
    return [
        Inbound(
            e.message.topic,
            e.message.partition,
            e.message.offset,
            e.message.key,
            e.message.value or b"",
        )
        for e in batch
    ]


def _batches(
    stream: StreamT[bytes], config: StreamConfig
) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """The agent's events in batches; ``take_events`` is on faust's Stream, not on StreamT."""
    if not isinstance(stream, faust.Stream):
        raise TypeError(f"an agent got a {type(stream).__name__}, not a faust Stream")
    return stream.take_events(config.batch_size, within=config.batch_within)


def _model_keeper(
    config: StreamConfig,
    processor: Processor,
    watch: SeriesWatch,
    features: FeatureStates,
    publisher: OutputProducer,
) -> ModelKeeper:
    """Checkpoints of the early-warning models and the series watch on ``<app id>-models``.

    The same topic holds the fences of the warning topics (:mod:`creditbrain.streams.sent`).
    """

    def snapshot(everything: bool) -> dict[str, bytes]:
        blobs = watch.checkpoints(everything)
        if processor.model is not None:
            blobs[EARLY_WARNING_KEY] = checkpoint.dump(processor.model)
        return blobs

    def loaded(latest: dict[str, bytes]) -> None:
        blob = latest.get(EARLY_WARNING_KEY)
        if blob is None or processor.model is None:
            return
        try:
            processor.model = checkpoint.load(blob, features)
        except checkpoint.CheckpointError as error:
            log.warning("early-warning checkpoint not used (%s): learning from scratch", error)
            return
        log.info("early-warning models restored: %s", processor.model.learned)

    return ModelKeeper(
        config.bootstrap,
        models_topic(config.app_id),
        snapshot,
        loaded,
        interval=config.checkpoint_interval,
        replication_factor=config.replication_factor,
        acks=config.acks,
        also_create={
            publisher.topics[METRIC_COUNTS]: config.partitions,
            publisher.topics[METRIC_DAYS]: config.partitions,
        },
    )


async def _recall_warnings(
    config: StreamConfig,
    publisher: OutputProducer,
    latest: Mapping[str, bytes],
    inputs: set[str],
    partitions: list[int],
) -> None:
    """Read back the warnings sent above the fences of the input partitions just taken.

    ``latest`` holds the fences as last written (:func:`~creditbrain.streams.sent.fence_key`). Each
    partition keeps its old fence until the worker has processed what the partition
    held uncommitted now (:class:`~creditbrain.streams.sent.Fences`).
    """
    if not partitions:  # nothing held: nothing of ours can come again
        publisher.sent.found.clear()
        return
    found = {p: latest.get(fence_key(p)) for p in partitions}
    since = oldest([parse_fence(fence) for fence in found.values()])
    tps = [TopicPartition(topic, p) for p in partitions for topic in sorted(inputs)]
    loop = asyncio.get_running_loop()

    async def attempt() -> tuple[dict[TopicPartition, int], int]:
        left = await loop.run_in_executor(
            None, backlog, config.bootstrap, config.app_id, tps, config.embedded_broker
        )
        return left, await publisher.sent.recall(config.bootstrap, since)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(_RECALL_ATTEMPTS),
        wait=growing(1.0, 1.0),
        before_sleep=log_before_sleep(
            log, "reading back the warnings failed (%r); trying again in %.1fs", describe=_why
        ),
        reraise=True,
    )
    try:  # the broker may be busy or moving a leader
        found_back: tuple[dict[TopicPartition, int], int] = await retrying(attempt)
    except Exception as error:
        log.error(
            "warnings could not be read back: a redelivered batch may repeat some (%r)", error
        )
        return
    left, read = found_back
    publisher.fences.restored(found, {(tp.topic, tp.partition): last for tp, last in left.items()})
    log.info(
        "%d warning records read back %s; %d changes already sent; %d partitions to catch up",
        read,
        "from the fences" if since is not None else "from the beginning",
        len(publisher.sent.found),
        len(left),
    )


def _why(error: BaseException) -> tuple[object, ...]:
    return (error,)


def create_stream(config: StreamConfig) -> Stream:
    """Build the Faust app for ``config`` (compatibility patches included)."""
    patch_faust_recovery_resume()
    if config.embedded_broker:
        patch_faust_for_tansu()
    app = faust.App(
        config.app_id,
        broker=f"kafka://{config.bootstrap}",
        broker_credentials=faust_credentials(),
        store=config.store_url,
        datadir=config.data_dir,
        topic_partitions=config.partitions,
        topic_replication_factor=config.replication_factor,
        # Group joins take half the session timeout on Tansu (KNOWN_ISSUES item 3).
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        broker_request_timeout=30,
        broker_commit_interval=1.0,
        broker_max_poll_records=config.batch_size * 2,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        table_standby_replicas=0,
        producer_linger_ms=5,
        producer_max_batch_size=512 * 1024,
        # Faust's own producer carries none of the pipeline's data (outputs and changelog
        # records go through the OutputProducer, with ``config.acks``); with acks=-1 on
        # the embedded broker the worker stopped committing its offsets (measured).
        producer_acks=1,
        stream_wait_empty=True,
    )
    source = app.topic(
        *input_topics(config.prefix),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=config.partitions,
    )
    # Partial daily counts per series, keyed by series: each series is summed by one worker.
    counts = app.topic(
        f"{config.app_id}-metric-counts",
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=config.partitions,
        internal=True,
    )
    outputs = {
        suffix: topic_name(config.prefix, suffix)
        for suffix in (
            ACCEPTED,
            DLQ,
            SCORES,
            WARNINGS,
            WARNINGS_GRID,
            ALERTS_LOG,
            SHADOW_ALERTS,
            METRIC_DAYS,
        )  # fmt: skip
    }
    outputs[METRIC_COUNTS] = counts.get_topic_name()
    # The embedded broker now and then holds one produce request unanswered until the
    # request's timeout (aiokafka's default: 40 s), with every later batch queued behind
    # it (measured: the worker's first batch stalled 40 s in about one test run in four,
    # then NotLeaderForPartition). A short timeout gives up on it early; the records are
    # sent again on a new connection (``OutputProducer._send_all``), and the duplicates
    # a late answer may leave collapse downstream like any redelivery.
    publisher = OutputProducer(
        config.bootstrap,
        outputs,
        acks=config.acks,
        request_timeout_ms=(
            _EMBEDDED_REQUEST_TIMEOUT_MS if config.embedded_broker else DEFAULT_REQUEST_TIMEOUT_MS
        ),
        fence_topic=models_topic(config.app_id),
    )
    subjects = _table(app, config, "subjects", "entity_state")
    feature_states = FeatureStates(subjects.data)
    processor = Processor(
        subjects.data,
        config.ctx,
        config.scorecard,
        config.max_message_bytes,
        model=EarlyWarning(feature_states) if config.models else None,
        count_series=config.models,
    )
    watch = SeriesWatch(lambda: processor.policies)
    stream = Stream(app=app, processor=processor, table=subjects, on_batch=[], watch=watch)
    stream.services.append(publisher)
    # A batch and a policy change's re-judging are computed and sent one at a time.
    turn = asyncio.Lock()

    async def _policy_changed(policies: PolicySet, at_ms: int) -> None:
        async with turn:
            result = processor.change_policies(policies, at_ms)
            await publisher.publish(result.outbound, _changelog(subjects, result))

    follower = PolicyFollower(
        config.bootstrap, topic_name(config.prefix, POLICIES), processor, _policy_changed
    )
    stream.services.append(follower)
    snoozes = SnoozeFollower(config.bootstrap, topic_name(config.prefix, SNOOZES), processor)
    stream.services.append(snoozes)
    shadows = ShadowFollower(
        config.bootstrap, topic_name(config.prefix, SHADOW_POLICIES), processor
    )
    stream.services.append(shadows)

    keeper = stream.keeper = _model_keeper(config, processor, watch, feature_states, publisher)
    stream.services.append(keeper)
    inputs = set(input_topics(config.prefix))
    lag = PartitionLag(lambda topic, partition: app.consumer.highwater(TP(topic, partition)))
    metrics = stream.metrics = WorkerMetrics(
        stream.registry,
        lambda: processor.counters,
        subjects.data,
        lambda: keeper.checkpointed_at,
        lag=lag,
        input_topics=sorted(inputs),
    )

    async def _restore() -> None:
        assignment = app.consumer.assignment()
        held = {tp.partition for tp in assignment if tp.topic in inputs}
        processor.restore(held)
        counts_name = counts.get_topic_name()
        watch.keep_only({tp.partition for tp in assignment if tp.topic == counts_name})
        log.info("recovered %d subjects, watermark %d", len(subjects.data), processor.watermark_ms)
        await keeper.ready.wait()  # the fences are read with the checkpoints
        await _recall_warnings(config, publisher, keeper.latest, inputs, sorted(held))

    subjects.on_recover(_restore)

    @app.agent(counts, name="series")
    async def watch_series(partials: StreamT[bytes]) -> None:
        async for batch in _batches(partials, config):
            await keeper.ready.wait()
            await follower.ready.wait()
            await publisher.publish(watch.process(_inbound(batch), keeper.latest))

    @app.agent(source, name="score")
    async def score(events: StreamT[bytes]) -> None:
        async for batch in _batches(events, config):
            await keeper.ready.wait()
            await follower.ready.wait()  # judged by the policies in force, not the defaults
            await snoozes.ready.wait()  # and held back by the snoozes in force
            await shadows.ready.wait()  # and judged under every shadow running
            async with turn:
                began = time.perf_counter()
                inbound = _inbound(batch)
                result = processor.process(inbound)
                metrics.observe(len(batch), time.perf_counter() - began, result)
                metrics.read(message.topic for message in inbound)
                lag.read((message.topic, message.partition, message.offset) for message in inbound)
                reached = {(e.message.topic, e.message.partition): e.message.offset for e in batch}
                await publisher.publish(result.outbound, _changelog(subjects, result), reached)
            for callback in stream.on_batch:
                callback(result)

    return stream
