"""A warning goes out once, even when the batch that made it is made again after a crash.

The worker writes a batch's outputs before the changelog records of its subjects;
a crash between the two leaves warnings on the topic that the restored state does
not know about, and the redelivered batch makes them again. Here that crash is
reproduced on the embedded broker exactly as it leaves the topics: batch 2's
outputs sent, its changelog records and fence never written. The next holder reads
back what lies above the fence and sends batch 2 and 3 with nothing twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import orjson
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat

from creditbrain.infra.broker import EmbeddedBroker, TopicSpec, ensure_topics
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import WARNINGS, WARNINGS_GRID
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.streams.messages import ALERTS_LOG, Inbound, Outbound
from creditbrain.streams.output import OutputProducer
from creditbrain.streams.processor import Processor
from creditbrain.streams.sent import change_of, fence_key, oldest, parse_fence
from tests.fixtures.broker import read_topic

KEY = b"test-pseudonym-key"
NOTICES = (WARNINGS, WARNINGS_GRID)
FENCE = fence_key(0)


def _batches() -> list[list[Outbound]]:
    """Four batches of a small city's alert outputs, as a worker makes them."""
    sim = Simulator(CityConfig.scaled(0.05, seed=11), pseudonym_key=KEY)
    messages = [Inbound("in", 0, i, None, e.value) for i, e in enumerate(sim.events())]
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)
    quarter = len(messages) // 4
    return [
        [
            m
            for m in processor.process(messages[i * quarter : (i + 1) * quarter]).outbound
            if m.topic in (*NOTICES, ALERTS_LOG)
        ]
        for i in range(4)
    ]


def _notices(batch: Sequence[Outbound]) -> list[Outbound]:
    return [m for m in batch if m.topic in NOTICES]


def test_every_warning_record_names_the_alert_change_it_announces() -> None:
    for batch in _batches():
        logged = {}
        for m in batch:
            if m.topic == ALERTS_LOG:
                doc = orjson.loads(m.value)
                logged[(doc["doc"]["alertid"], doc["version"])] = doc["notify"]
        for m in _notices(batch):
            change = change_of(m.headers)
            assert change is not None
            alert, version = change[0].decode(), int(change[1])
            sent = orjson.loads(m.value)
            assert alert == sent["alertid"] and sent["id"] == f"{alert}:{version}"
            assert ("content-type", b"application/cloudevents+json") in m.headers
            assert logged[(alert, version)] is True  # the change the log says was news


def test_a_cloudevents_consumer_reads_every_warning_record_and_keeps_every_change() -> None:
    records = [m for batch in _batches() for m in _notices(batch)]
    assert records
    ids: dict[str, set[str]] = {}
    for m in records:
        headers = dict(m.headers)
        event = from_kafka(KafkaMessage(headers, m.key, m.value), JSONFormat())
        data = event.get_data()
        assert isinstance(data, dict)
        assert headers["alert-id"].decode() == event.get_extension("alertid") == data["alert_id"]
        assert event.get_id() == f"{data['alert_id']}:{data['version']}"
        assert event.get_subject() == data["subject"]["id"] == m.key.decode()  # type: ignore[union-attr]
        ids.setdefault(m.topic, set()).add(event.get_id())
    # Per topic, no two records share an id: a consumer deduplicating by id drops none.
    assert sum(len(found) for found in ids.values()) == len(records)


def test_oldest_fence_is_the_lowest_position_and_a_missing_fence_means_the_beginning() -> None:
    assert oldest([{"w": {0: 5, 1: 9}}, {"w": {0: 7, 1: 3}, "g": {0: 2}}]) == {
        "w": {0: 5, 1: 3},
        "g": {0: 0},
    }
    assert oldest([parse_fence(b'{"w": {"0": 4}}'), parse_fence(None)]) is None
    assert parse_fence(b"not a fence") is None


async def _take_over(
    bootstrap: str, topics: dict[str, str], fences: str, backlog: dict[tuple[str, int], int]
) -> OutputProducer:
    """A new holder of input partition 0, as the worker's recovery makes one."""
    producer = OutputProducer(bootstrap, topics, acks="1", fence_topic=fences)
    await producer.start()
    latest = {r.key.decode(): r.value for r in read_topic(bootstrap, fences)}
    found = {0: latest.get(FENCE)}
    await producer.sent.recall(bootstrap, oldest([parse_fence(found[0])]))
    producer.fences.restored(found, backlog)
    return producer


async def _publish(producer: OutputProducer, batch: list[Outbound], last_offset: int) -> None:
    """One batch of input offsets up to ``last_offset``: outputs, changelog and fence."""
    changelog = [(CHANGELOG, 0, b"subject", b"%d" % last_offset)]
    await producer.publish(batch, changelog, {("in", 0): last_offset})


CHANGELOG = "subjects-changelog"


async def test_a_batch_made_again_after_a_crash_sends_its_warnings_once(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    """Holders A, B, C of one input partition; batch n holds input offsets up to n * 100 - 1.

    A sends batches 1 and 2 and dies after batch 3's outputs. B takes over and dies
    after redelivered batch 2 (all duplicates: no warnings), before it made batch 3
    again; a fresh fence from B would hide batch 3's warnings from C. C makes batch 3
    again and then batch 4: every warning on the topics once.
    """
    bootstrap = embedded_broker.bootstrap
    batches = _batches()
    assert all(_notices(batch) for batch in batches), "a batch without warnings proves nothing"
    topics = {suffix: fresh_topic(suffix) for suffix in (*NOTICES, ALERTS_LOG)}
    fences = fresh_topic("models")
    ensure_topics(
        bootstrap,
        [TopicSpec(name, 3) for name in topics.values()]
        + [TopicSpec(fences, 1, compacted=True), TopicSpec(CHANGELOG, 1, compacted=True)],
    )
    notices = [len(_notices(batch)) for batch in batches]

    a = await _take_over(bootstrap, topics, fences, {})
    assert a.sent.read_back == 0  # a new deployment
    await _publish(a, batches[0], 99)
    await _publish(a, batches[1], 199)
    await a.publish(batches[2])  # the crash: batch 3's changelog and fence never written
    await a.stop()

    # Committed up to batch 1; the partition holds batch 3's input.
    b = await _take_over(bootstrap, topics, fences, {("in", 0): 299})
    # The last fence was taken before batch 2 (it is written with batch 2's changelog,
    # and must hold should only part of that land): batches 2 and 3 are read back.
    assert b.sent.read_back == notices[1] + notices[2]
    await _publish(b, [m for m in batches[1] if m.topic not in NOTICES], 199)
    await b.stop()

    c = await _take_over(bootstrap, topics, fences, {("in", 0): 299})
    assert c.sent.read_back == notices[1] + notices[2]  # B kept the fence it found
    await _publish(c, batches[2], 299)
    assert c.sent.suppressed == notices[2]
    # Caught up with batch 3: batch 4 writes a new fence, and a next holder reads
    # batch 4 only.
    await _publish(c, batches[3], 399)
    await c.stop()
    d = await _take_over(bootstrap, topics, fences, {})
    assert d.sent.read_back == notices[3]
    # Without a fence the whole topics are read back.
    assert await d.sent.recall(bootstrap, None) == sum(notices)
    await d.stop()

    sent: Counter[tuple[str, bytes, bytes]] = Counter()
    for suffix in NOTICES:
        for record in read_topic(bootstrap, topics[suffix]):
            change = change_of(record.headers)
            assert change is not None
            sent[(suffix, *change)] += 1
    made = Counter(
        (m.topic, *(change_of(m.headers) or ())) for batch in batches for m in _notices(batch)
    )
    assert set(made.values()) == {1}  # every change made once by the city
    assert sent == made  # ... and on the topics once, batch 3's included


async def test_warnings_a_timed_out_request_wrote_are_not_sent_again(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    """Before refused warnings go again, the topics are read from the ends before the try."""
    bootstrap = embedded_broker.bootstrap
    batch = _batches()[0]
    topics = {suffix: fresh_topic(suffix) for suffix in (*NOTICES, ALERTS_LOG)}
    ensure_topics(bootstrap, [TopicSpec(name, 3) for name in topics.values()])
    producer = OutputProducer(bootstrap, topics, acks="1")
    await producer.start()
    await producer.sent.recall(bootstrap, None)
    since = producer.sent.snapshot()
    written, refused = batch[: len(batch) // 2], batch[len(batch) // 2 :]
    await producer.publish(written)  # the timed-out request that was written after all
    records = [(topics[m.topic], None, m.key, m.value, m.headers) for m in batch]
    left = await producer._not_yet_written(records, since)
    await producer.stop()
    assert _notices(written) and _notices(refused)
    # Every record goes again but the warnings already written; other outputs are
    # at least once and are not looked for.
    expected = [m for m in batch if m.topic not in NOTICES] + _notices(refused)
    assert sorted((r[0], r[3]) for r in left) == sorted(
        (topics[m.topic], m.value) for m in expected
    )
