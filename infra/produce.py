"""Putting JSON Lines on the contract's topics: the shared path of ``replay`` and the simulator.

Each line is validated with :func:`creditbrain.schemas.parse.parse_event` first, so a
file and the topics give the same verdicts: a valid line goes unchanged to its kind's
topic keyed by ``subject.id`` (as the contract says), a bad line goes to the
dead-letter topic with its reason in the ``reason`` header and personal ids redacted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from creditbrain.core.errors import BrokerError
from creditbrain.infra.kafka_security import kafka_python_options
from creditbrain.schemas.contract import DLQ, topic_for_kind, topic_name
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.parse import DeadLetter, parse_event


@dataclass
class ProduceSummary:
    """What a replay put where."""

    lines: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    dlq: Counter[str] = field(default_factory=Counter)


def make_producer(bootstrap: str) -> KafkaProducer:
    """A throughput-oriented producer (batching, acks from the leader)."""
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap,
            linger_ms=5,
            batch_size=512 * 1024,
            max_request_size=2 * 1024 * 1024,
            acks=1,
            **kafka_python_options(),
        )
    except KafkaError as error:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {error}") from error


def route_line(
    raw: bytes, ctx: ParseContext, prefix: str, max_bytes: int, origin: tuple[str, int]
) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
    """Where one line goes: (topic, key, value, headers); ``origin`` is (file, line number)."""
    result = parse_event(raw, ctx, max_bytes)
    if isinstance(result, DeadLetter):
        headers = [
            ("reason", result.reason.value.encode()),
            ("detail", result.detail.encode()),
            ("event-id", result.event_id.encode()),
            ("source-topic", f"file:{origin[0]}".encode()),
            ("source-partition", b"0"),
            ("source-offset", str(origin[1]).encode()),
        ]
        return topic_name(prefix, DLQ), None, result.raw, headers
    key = orjson.loads(raw)["subject"]["id"].strip().encode()
    return topic_for_kind(prefix, result.kind), key, raw, []


def produce_lines(
    lines: Iterable[bytes],
    bootstrap: str,
    prefix: str,
    ctx: ParseContext,
    max_bytes: int = 1024 * 1024,
    on_progress: Callable[[int], None] | None = None,
    source: str = "-",
) -> ProduceSummary:
    """Validate and produce every line; returns the counts once all are acknowledged.

    ``source`` names the file in the dead letters' source headers (with the line number).
    """
    producer = make_producer(bootstrap)
    summary = ProduceSummary()
    try:
        for number, raw in enumerate(lines, start=1):
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            topic, key, value, headers = route_line(raw, ctx, prefix, max_bytes, (source, number))
            producer.send(topic, key=key, value=value, headers=headers)
            summary.lines += 1
            summary.by_topic[topic] += 1
            if headers:
                summary.dlq[headers[0][1].decode()] += 1
            if on_progress and summary.lines % 1000 == 0:
                on_progress(1000)
        producer.flush()
    except KafkaError as error:
        raise BrokerError(f"producing to {bootstrap} failed: {error}") from error
    finally:
        producer.close()
    if on_progress:
        on_progress(summary.lines % 1000)
    return summary
