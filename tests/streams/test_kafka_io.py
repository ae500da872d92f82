"""Reading partitions to their true end on the embedded broker (KNOWN_ISSUES item 1).

Records produced in one batch make the broker's ListOffsets answer short of the
end; every test here writes such a batch last, so a reader that trusted ListOffsets
would miss records and fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from aiokafka import TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition as SyncTopicPartition

from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicyOverride
from creditbrain.alerts.policy_changes import policy_message
from creditbrain.infra.broker import EmbeddedBroker, TopicSpec, ensure_topics
from creditbrain.streams.kafka_io import EndNotReached, PartitionReader, end_offsets, true_ends
from creditbrain.streams.policies import PolicyFollower

pytestmark = pytest.mark.integration

BATCH = 28


class FaustTP(NamedTuple):
    """The shape of Faust's topic-partition, which its recovery hands to the ends lookup."""

    topic: str
    partition: int


def produce_batch(bootstrap: str, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    """``records`` to partition 0 of ``topic``, sent together so that they form one batch."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=200, batch_size=1 << 20)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value, partition=0)
        producer.flush()
    finally:
        producer.close()


def listed_end(bootstrap: str, topic: str) -> int:
    """What ListOffsets(LATEST) answers for partition 0 of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        tp = SyncTopicPartition(topic, 0)
        return int(consumer.end_offsets([tp])[tp])
    finally:
        consumer.close()


@pytest.fixture
def batched_topic(embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]) -> str:
    """A one-partition topic holding one record, then :data:`BATCH` records in one batch."""
    topic = fresh_topic("io")
    ensure_topics(embedded_broker.bootstrap, [TopicSpec(topic, 1)])
    produce_batch(embedded_broker.bootstrap, topic, [(b"first", b"0")])
    produce_batch(
        embedded_broker.bootstrap, topic, [(b"k%d" % i, b"%d" % (i + 1)) for i in range(BATCH)]
    )
    return topic


def test_the_end_offset_comes_from_a_fetch_not_from_list_offsets(
    embedded_broker: EmbeddedBroker, batched_topic: str
) -> None:
    bootstrap = embedded_broker.bootstrap
    listed = listed_end(bootstrap, batched_topic)
    # The reason for the module: the broker's answer stops inside the last batch.
    assert listed < 1 + BATCH
    tp = SyncTopicPartition(batched_topic, 0)
    assert end_offsets(bootstrap, [tp]) == {tp: 1 + BATCH}
    assert end_offsets(bootstrap, [tp], exact=False) == {tp: listed}
    # Any partition type is kept as the key it came with (Faust passes its own).
    faust_like = FaustTP(batched_topic, 0)
    assert true_ends(bootstrap, {faust_like: listed}) == {faust_like: 1 + BATCH}
    assert true_ends(bootstrap, {faust_like: 0}) == {faust_like: 0}  # empty: not fetched


async def test_a_reader_hands_over_every_record_up_to_the_true_end(
    embedded_broker: EmbeddedBroker, batched_topic: str, fresh_topic: Callable[[str], str]
) -> None:
    empty = fresh_topic("io-empty")
    ensure_topics(embedded_broker.bootstrap, [TopicSpec(empty, 2)])
    seen: dict[TopicPartition, list[bytes]] = {}

    def keep(tp: TopicPartition, records: list) -> None:  # type: ignore[type-arg]
        seen.setdefault(tp, []).extend(r.value for r in records)

    async with PartitionReader(embedded_broker.bootstrap) as reader:
        tps = await reader.partitions([batched_topic, empty, "no-such-topic"])
        assert tps == sorted(
            [TopicPartition(batched_topic, 0), TopicPartition(empty, 0), TopicPartition(empty, 1)]
        )
        await reader.assign({tp: None for tp in tps})
        ends = await reader.read_to_end(keep, timeout_s=30)
        assert reader.read == 1 + BATCH
    full = TopicPartition(batched_topic, 0)
    assert ends == {full: 1 + BATCH, TopicPartition(empty, 0): 0, TopicPartition(empty, 1): 0}
    assert seen == {full: [b"%d" % i for i in range(1 + BATCH)]}

    seen.clear()
    async with PartitionReader(embedded_broker.bootstrap) as reader:
        await reader.assign({full: 20})  # from an offset inside the batch
        assert await reader.read_to_end(keep) == {full: 1 + BATCH}
    assert seen == {full: [b"%d" % i for i in range(20, 1 + BATCH)]}


async def test_a_read_that_cannot_reach_the_end_in_time_says_so(
    embedded_broker: EmbeddedBroker, batched_topic: str
) -> None:
    async with PartitionReader(embedded_broker.bootstrap) as reader:
        await reader.assign({TopicPartition(batched_topic, 0): None})
        with pytest.raises(EndNotReached):
            await reader.read_to_end(lambda tp, records: None, timeout_s=0.0)


async def test_the_policy_follower_is_ready_once_every_policy_is_applied(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    """Policies written before the worker starts all apply before it judges an event."""
    bootstrap = embedded_broker.bootstrap
    topic = fresh_topic("policies")
    ensure_topics(bootstrap, [TopicSpec(topic, 1, compacted=True)])
    override = PolicyOverride.model_validate({"rules": {"score_drop": {"level": "red"}}})
    scopes = ["*", *(f"district={d}" for d in ("371102", "371103", "371121", "371122"))]
    produce_batch(bootstrap, topic, [policy_message(scope, override) for scope in scopes])
    assert listed_end(bootstrap, topic) < len(scopes)

    processor = SimpleNamespace(policies=DEFAULT_POLICIES)
    follower = PolicyFollower(bootstrap, topic, processor)
    await follower.start()
    try:
        await asyncio.wait_for(follower.ready.wait(), timeout=30)
        assert follower.applied == len(scopes)
        assert processor.policies != DEFAULT_POLICIES
        # ... and goes on following.
        produce_batch(bootstrap, topic, [policy_message(scope, None) for scope in scopes])
        for _ in range(100):
            if follower.applied == 2 * len(scopes):
                break
            await asyncio.sleep(0.1)
        assert processor.policies == DEFAULT_POLICIES
    finally:
        await follower.stop()
