"""Producing a simulated city to the embedded broker and reading it back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, TopicPartition
from typer.testing import CliRunner

from creditbrain.cli.simulate import simulate_app
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.schemas.contract import input_topics, topic_specs
from creditbrain.simulator import CityConfig, Progress, produce
from tests.simulator.conftest import KEY, generate

pytestmark = pytest.mark.integration

CITY = CityConfig.scaled(0.01, seed=21, days=90, error_rate=0.02)


def _read_all(
    bootstrap: str, topics: list[str], expected: int
) -> dict[str, list[tuple[bytes, bytes]]]:
    """Every record of ``topics``: reads until ``expected`` records came, or 30 s passed.

    (Tansu's ListOffsets answers too small an end offset, so the count comes from the test.)
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        read: dict[str, list[tuple[bytes, bytes]]] = {t: [] for t in topics}
        deadline = time.monotonic() + 30
        while sum(len(v) for v in read.values()) < expected and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                read[tp.topic].extend((r.key, r.value) for r in records)
        for tp, records in consumer.poll(timeout_ms=500).items():  # nothing more than expected
            read[tp.topic].extend((r.key, r.value) for r in records)
        return read
    finally:
        consumer.close()


def test_produce_puts_every_message_on_its_topic(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    prefix = fresh_topic("sim")
    ensure_topics(embedded_broker.bootstrap, topic_specs(prefix, 3))
    seen: list[Progress] = []
    summary = produce(
        embedded_broker.bootstrap, prefix, CITY, progress_callback=seen.append, pseudonym_key=KEY
    )
    expected = generate(CITY)
    read = _read_all(embedded_broker.bootstrap, input_topics(prefix), len(expected.events))
    assert summary.messages == len(expected.events) == sum(len(v) for v in read.values())
    assert summary.by_topic == {t: len(v) for t, v in read.items() if v}
    for event in expected.events:
        assert (event.key, event.value) in set(read[f"{prefix}.{event.topic_suffix}"])
    assert seen[-1].fraction == 1.0 and seen[-1].messages == summary.messages
    # Bad messages travel too, on the topic of the kind they were meant to be.
    bad = [e for e in expected.events if e.error == "bad_json"]
    assert bad and all(b.value in {v for _, v in read[f"{prefix}.{b.topic_suffix}"]} for b in bad)
    assert summary.erroneous == sum(1 for e in expected.events if e.error)


def test_produce_keeps_to_the_target_rate(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    prefix = fresh_topic("paced")
    ensure_topics(embedded_broker.bootstrap, topic_specs(prefix, 1))
    city = CityConfig.scaled(0.005, seed=2, days=20, error_rate=0)
    messages = len(generate(city).events)
    rate = messages / 1.0  # a one-second run
    summary = produce(embedded_broker.bootstrap, prefix, city, rate, pseudonym_key=KEY)
    assert summary.messages == messages
    assert 0.9 <= summary.seconds <= 3.0
    read = _read_all(embedded_broker.bootstrap, input_topics(prefix), messages)
    assert sum(len(v) for v in read.values()) == messages
    assert all(
        json.loads(v)["schema_version"] == 1
        for v in (x for _, x in read[f"{prefix}.events.positive"])
    )


def test_cli_produce_creates_topics_and_sends(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str]
) -> None:
    prefix = fresh_topic("cli")
    args = [
        "produce", "--bootstrap", embedded_broker.bootstrap, "--prefix", prefix,
        "--subjects-scale", "0.005", "--days", "20", "--seed", "4", "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(simulate_app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    read = _read_all(embedded_broker.bootstrap, input_topics(prefix), summary["messages"])
    assert sum(len(v) for v in read.values()) == summary["messages"] > 0
    assert summary["by_topic"] == {t: len(v) for t, v in read.items() if v}
