"""Warnings go out once: fences on the warning topics and the read-back after a crash.

The worker sends a batch's outputs before the subjects' changelog records (see
:mod:`creditbrain.streams.output`), so a crash between the two leaves warnings on
``credit.warnings`` that the restored subject records do not know about; the
redelivered batch makes the same changes again (same alert ids, same versions).
The store collapses such repeats, but a regulator's inbox or the grid system
would see a warning twice. Kafka transactions would close the gap on a real
cluster; the embedded broker has none (KNOWN_ISSUES item 5). This module closes it
on either:

* Every warning record carries the change it announces in two headers,
  ``alert-id`` and ``alert-version`` (an alert's version grows with each change,
  so the pair names one change for good).
* A **fence** is a position on each partition of the warning topics below which
  nothing is pending for one input partition: every warning there belongs to a
  change that the partition's durable state already holds. The worker takes one
  just before it sends a batch's outputs and writes it, keyed by the input
  partition (``fence-score-<p>``), with the batch's changelog records: should only
  part of them land, the redelivered batch's warnings still lie above it. A fence
  that is lost or late is only older, which is safe.
* A worker that takes a partition over reads the warning topics from the oldest
  fence of its partitions to their ends and remembers every ``(topic, alert id,
  version)`` found there; a warning the redelivered input makes again is found
  among them and not sent a second time. It keeps writing the fence it found
  (:class:`Fences`) until it has processed every message the partition held when
  it took it over: before that, the previous holder's warnings above the old fence
  are not yet all made again, and a newer fence would hide them from the next
  holder.

The read covers the outputs of the batches in flight when the previous holder
stopped, plus whatever other workers wrote meanwhile: a few thousand records. A
partition without a fence (a new deployment, or one upgraded from a version that
wrote none) is read from the beginning of the topics' retention once.

The city-level ``metric_anomaly`` warnings come from the series watch, whose state
is checkpointed every 30 s and is not aligned with its input offsets
(:mod:`creditbrain.streams.models`): a day whose counts were read but not yet
checkpointed when a worker died may be judged again, under the same alert id. Such
a repeat is left out only when it falls inside the read-back window.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import orjson
from aiokafka import ConsumerRecord, TopicPartition

from creditbrain.streams.kafka_io import PartitionReader

log = logging.getLogger(__name__)

#: Headers of a warning record that name the alert change it announces.
ALERT_ID = "alert-id"
ALERT_VERSION = "alert-version"

#: ``(topic, alert id, version)``
Sent = tuple[str, bytes, bytes]
#: ``{topic: {partition: offset}}``
Positions = dict[str, dict[int, int]]


def fence_key(partition: int) -> str:
    """Key of the fence of one input partition on the checkpoint topic, e.g. ``fence-score-3``."""
    return f"fence-score-{partition}"


def dump_fence(ends: Positions) -> bytes:
    """Positions as a fence record (JSON: topic -> partition -> offset).

    >>> parse_fence(dump_fence({"w": {0: 5}}))
    {'w': {0: 5}}
    """
    return orjson.dumps(
        {t: {str(p): o for p, o in sorted(parts.items())} for t, parts in ends.items()}
    )


def change_of(headers: Iterable[tuple[str, bytes]] | None) -> tuple[bytes, bytes] | None:
    """The ``(alert id, version)`` a warning record's headers name, if they name one."""
    alert = version = None
    for name, value in headers or ():
        if name == ALERT_ID:
            alert = value
        elif name == ALERT_VERSION:
            version = value
    if alert is None or version is None:
        return None
    return alert, version


def parse_fence(data: bytes | None) -> Positions | None:
    """A fence written by :func:`dump_fence`; ``None`` when absent or unreadable."""
    if not data:
        return None
    try:
        doc = orjson.loads(data)
        return {
            str(topic): {int(p): int(offset) for p, offset in parts.items()}
            for topic, parts in doc.items()
        }
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        log.warning("unreadable warning fence ignored: the topics are read from the beginning")
        return None


def oldest(fences: Sequence[Positions | None]) -> Positions | None:
    """The lowest position per topic partition over ``fences``; ``None`` if one is missing.

    A partition a fence does not mention was empty when the fence was taken.

    >>> oldest([{"w": {0: 5, 1: 9}}, {"w": {0: 7}}])
    {'w': {0: 5, 1: 0}}
    >>> oldest([{"w": {0: 5}}, None]) is None
    True
    """
    if any(fence is None for fence in fences):
        return None
    merged: Positions = {}
    topics = {topic for fence in fences if fence for topic in fence}
    for topic in topics:
        parts = {p for fence in fences if fence for p in fence.get(topic, {})}
        merged[topic] = {
            p: min((fence or {}).get(topic, {}).get(p, 0) for fence in fences) for p in parts
        }
    return merged


class Fences:
    """Which fence each input partition of this worker may write: a new one, or the one it found.

    After :meth:`restored`, a partition with a backlog (messages not yet committed
    when it was taken over) keeps its old fence until :meth:`processed` has seen its
    last offset on every input topic; the batch after that writes fresh fences.

    >>> fences = Fences()
    >>> fences.restored({0: b"old"}, {("in", 0): 41})
    >>> fences.value(0, b"now")
    b'old'
    >>> fences.processed("in", 0, 41)
    >>> fences.value(0, b"now")
    b'now'
    >>> fences.value(1, b"now") is None  # not taken over here
    True
    """

    def __init__(self) -> None:
        self._found: dict[int, bytes | None] = {}
        self._backlog: dict[int, dict[str, int]] = {}

    def restored(
        self, found: Mapping[int, bytes | None], backlog: Mapping[tuple[str, int], int]
    ) -> None:
        """The fences found for the partitions now held, and the last offset to process
        of each ``(topic, partition)`` the group had not committed up to."""
        self._found = dict(found)
        self._backlog = {partition: {} for partition in found}
        for (topic, partition), last in backlog.items():
            if partition in self._backlog:
                self._backlog[partition][topic] = last

    def processed(self, topic: str, partition: int, offset: int) -> None:
        """The messages of ``topic[partition]`` up to ``offset`` are in the state."""
        backlog = self._backlog.get(partition)
        if backlog and backlog.get(topic, offset + 1) <= offset:
            del backlog[topic]

    def value(self, partition: int, now: bytes) -> bytes | None:
        """The fence to write for ``partition`` (``now``: the current ends); ``None``: none."""
        if partition not in self._found:
            return None
        if self._backlog[partition]:
            return self._found[partition]
        return now


class SentWarnings:
    """What this worker knows of the warning topics: their ends, and what was sent above a fence.

    Parameters
    ----------
    topics
        Full names of the warning topics (``credit.warnings``, ``credit.warnings.grid``).
    """

    def __init__(self, topics: Iterable[str]) -> None:
        self.topics = frozenset(topics)
        #: Topic -> partition -> the next offset as far as this worker knows (a lower bound).
        self.ends: Positions = {topic: {} for topic in self.topics}
        self.found: set[Sent] = set()
        #: Warnings not sent because they were found on the topic.
        self.suppressed = 0
        #: Records read back by the last :meth:`recall`.
        self.read_back = 0

    def snapshot(self) -> Positions:
        """The current ends (a copy): nothing this worker sends from now on lies below."""
        return {topic: dict(parts) for topic, parts in self.ends.items()}

    def delivered(self, topic: str, partition: int, offset: int) -> None:
        """A record of ours landed at ``offset``."""
        parts = self.ends.get(topic)
        if parts is not None and offset + 1 > parts.get(partition, 0):
            parts[partition] = offset + 1

    def already_sent(self, topic: str, headers: Iterable[tuple[str, bytes]] | None) -> bool:
        """Whether this warning was found above the fence (and so must not go again)."""
        if topic not in self.topics or not self.found:
            return False
        change = change_of(headers)
        if change is None or (topic, *change) not in self.found:
            return False
        self.suppressed += 1
        return True

    async def recall(self, bootstrap: str, since: Positions | None) -> int:
        """Read the warning topics from ``since`` (``None``: the beginning) to their ends.

        What was found replaces what an earlier recall found. Returns the number of
        records read.
        """
        self.found, self.read_back = await self.read(bootstrap, since)
        return self.read_back

    async def read(self, bootstrap: str, since: Positions | None) -> tuple[set[Sent], int]:
        """The changes on the warning topics from ``since`` to their ends, and the records read.

        The ends reached are what this worker knows of the topics from then on.
        """
        found: set[Sent] = set()

        def collect(tp: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
            for record in records:
                change = change_of(record.headers)
                if change is not None:
                    found.add((tp.topic, *change))

        async with PartitionReader(bootstrap) as reader:
            tps = await reader.partitions(self.topics)
            if not tps:
                return found, 0
            await reader.assign(
                {
                    tp: None if since is None else since.get(tp.topic, {}).get(tp.partition, 0)
                    for tp in tps
                }
            )
            for tp, end in (await reader.read_to_end(collect)).items():
                self.delivered(tp.topic, tp.partition, end - 1)
            return found, reader.read
