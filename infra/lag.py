"""How far a consumer group is behind: what the demo and the tests wait on.

The end of a partition comes from :func:`creditbrain.streams.kafka_io.end_offsets`:
exact from a fetch when the broker is Tansu (its ListOffsets answer can be short),
else from ListOffsets itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.structs import TopicPartition

from creditbrain.infra.kafka_security import kafka_python_options
from creditbrain.streams import kafka_io


def partitions_of(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (missing topics have none)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **kafka_python_options())
    try:
        return [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
    finally:
        consumer.close()


def committed_and_ends(
    bootstrap: str, group: str, tps: Sequence[TopicPartition], tansu: bool
) -> dict[TopicPartition, tuple[int, int]]:
    """``(committed offset, end offset)`` of each partition for ``group`` (0: nothing committed)."""
    ends = kafka_io.end_offsets(bootstrap, tps, exact=tansu)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_options())
    try:
        committed = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {
        tp: (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0, end)
        for tp, end in ends.items()
    }


def group_lag(bootstrap: str, group: str, topics: Sequence[str], tansu: bool) -> int:
    """Messages of ``topics`` that ``group`` has not committed yet."""
    tps = partitions_of(bootstrap, topics)
    offsets = committed_and_ends(bootstrap, group, tps, tansu)
    return sum(max(0, end - done) for done, end in offsets.values())


def backlog(
    bootstrap: str, group: str, tps: Sequence[TopicPartition], tansu: bool
) -> dict[TopicPartition, int]:
    """The last offset of each partition where ``group`` has not committed all (others left out)."""
    offsets = committed_and_ends(bootstrap, group, tps, tansu)
    return {tp: end - 1 for tp, (done, end) in offsets.items() if done < end}


def sink_topics(prefix: str) -> list[str]:
    """The topics the ClickHouse sink reads."""
    from creditbrain.schemas.contract import DLQ, MEASURES, SCORES, topic_name

    suffixes = (
        "events.accepted", DLQ, SCORES, "alerts.log", "alerts.shadow", "metric.days", MEASURES
    )  # fmt: skip
    return [topic_name(prefix, s) for s in suffixes]


def wait_until_drained(
    bootstrap: str,
    app_id: str,
    prefix: str,
    tansu: bool,
    timeout: float = 300.0,
    poll: float = 0.5,
    stall: float | None = None,
) -> bool:
    """Wait until the worker has processed every input and the sink has stored every output.

    The worker's group must reach the end of every input topic (Faust flushes its
    outputs before it commits), then the sink's group the end of every topic it
    reads. Returns ``False`` after ``timeout`` seconds in all, or, when ``stall`` is
    given, as soon as a group's lag has not gone down for ``stall`` seconds: a slow
    machine that keeps making progress is waited for, a stuck pipeline is not.
    """
    import time

    from creditbrain.schemas.contract import input_topics

    deadline = time.monotonic() + timeout
    for group, topics in ((app_id, input_topics(prefix)), (f"{app_id}-sink", sink_topics(prefix))):
        lowest, since = None, time.monotonic()
        while (lag := group_lag(bootstrap, group, topics, tansu)) > 0:
            now = time.monotonic()
            if lowest is None or lag < lowest:
                lowest, since = lag, now
            if now > deadline or (stall is not None and now - since > stall):
                return False
            time.sleep(poll)
    return True
