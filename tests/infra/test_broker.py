"""The embedded broker and topic set-up, against the real Tansu binary."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from creditbrain.core.errors import BrokerError, ConfigurationError
from creditbrain.infra.broker import EmbeddedBroker, TopicSpec, ensure_topics, wait_until_ready
from creditbrain.schemas.contract import topic_specs

pytestmark = pytest.mark.integration

FreshTopic = Callable[[str], str]


def test_broker_answers_metadata(embedded_broker: EmbeddedBroker) -> None:
    assert embedded_broker.bootstrap == f"127.0.0.1:{embedded_broker.port}"
    wait_until_ready(embedded_broker.bootstrap, timeout=5)


def test_topics_are_created_once(embedded_broker: EmbeddedBroker, fresh_topic: FreshTopic) -> None:
    plain, compacted = fresh_topic("plain"), fresh_topic("policies")
    specs = [TopicSpec(plain, 3, retention_ms=3_600_000), TopicSpec(compacted, 1, compacted=True)]

    assert ensure_topics(embedded_broker.bootstrap, specs) == sorted([plain, compacted])
    assert ensure_topics(embedded_broker.bootstrap, specs) == []

    admin = KafkaAdminClient(bootstrap_servers=embedded_broker.bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([plain, compacted])}
        resource = ConfigResource(ConfigResourceType.TOPIC, compacted)
        # Tansu labels the topic's own settings DEFAULT_CONFIG, so ask for all of them.
        configs = admin.describe_configs([resource], config_filter="all")
    finally:
        admin.close()
    assert len(described[plain]["partitions"]) == 3
    assert len(described[compacted]["partitions"]) == 1
    # Tansu accepts and reports the policy (it does not actually compact).
    assert configs["topic"][compacted]["cleanup.policy"]["value"] == "compact"


def test_contract_topic_specs_are_accepted(
    embedded_broker: EmbeddedBroker, fresh_topic: FreshTopic
) -> None:
    specs = topic_specs(fresh_topic("contract"), partitions=2, replication_factor=1)
    assert ensure_topics(embedded_broker.bootstrap, specs) == sorted(s.name for s in specs)


def test_produce_consume_round_trip(
    embedded_broker: EmbeddedBroker, fresh_topic: FreshTopic
) -> None:
    topic = fresh_topic("roundtrip")
    ensure_topics(embedded_broker.bootstrap, [TopicSpec(topic, 2)])
    sent = {f"subject-{i}".encode(): f"event-{i}".encode() for i in range(20)}

    producer = KafkaProducer(bootstrap_servers=embedded_broker.bootstrap)
    try:
        for key, value in sent.items():
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=10)
    finally:
        producer.close()

    consumer = KafkaConsumer(bootstrap_servers=embedded_broker.bootstrap, fetch_max_wait_ms=50)
    try:
        consumer.assign([TopicPartition(topic, p) for p in (0, 1)])
        consumer.seek_to_beginning()
        received: dict[bytes, bytes] = {}
        deadline = time.monotonic() + 10
        while len(received) < len(sent) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                received.update((r.key, r.value) for r in records)
    finally:
        consumer.close()
    assert received == sent


def test_stop_leaves_no_process(tmp_path: Path) -> None:
    broker = EmbeddedBroker(log_dir=tmp_path)
    with broker:
        pid = broker.pid
        assert pid is not None
        assert Path(f"/proc/{pid}").exists()
    assert not Path(f"/proc/{pid}").exists()
    assert broker.pid is None
    assert (tmp_path / "tansu.log").read_text().strip()
    with pytest.raises(BrokerError, match="not running"):
        _ = broker.bootstrap


def test_port_in_use_is_a_clear_error(embedded_broker: EmbeddedBroker) -> None:
    with pytest.raises(BrokerError, match=f"port {embedded_broker.port} .* in use"):
        EmbeddedBroker(port=embedded_broker.port).start()


def test_absent_broker_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(BrokerError, match="no Kafka broker answered"):
        wait_until_ready("127.0.0.1:1", timeout=0.5)
    assert time.monotonic() - started < 5


def test_topic_spec_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="at least 1"):
        TopicSpec("credit.scores", 0)
