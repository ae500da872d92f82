"""The records the stream passes around, independent of Faust.

:class:`Inbound` is one consumed Kafka message; :class:`Outbound` is one message to
produce (topic suffix of the contract, key, value, headers). Keeping them plain lets
the processor be tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Inbound:
    """A consumed message and where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Outbound:
    """A message to produce; ``topic`` is a contract suffix such as ``scores``."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def source_headers(message: Inbound) -> list[tuple[str, bytes]]:
    """Headers that say which input message an output derives from."""
    return [
        ("source-topic", message.topic.encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
    ]
