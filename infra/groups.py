"""The pipeline's own consumer groups (the sink, the webhook dispatcher): one set of settings.

Each commits by hand only after its work is done, starts from the earliest offset the
first time, and uses the short session timeout and fetch wait that the embedded broker
needs (KNOWN_ISSUES items 2 and 3) and that are harmless on Kafka.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer

from creditbrain.infra.kafka_security import aiokafka_options


def group_consumer(bootstrap: str, group_id: str, *topics: str, **extra: Any) -> AIOKafkaConsumer:
    """An unstarted consumer of ``topics`` in ``group_id``; ``extra`` adds aiokafka options."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        **aiokafka_options(),
        **extra,
    )
