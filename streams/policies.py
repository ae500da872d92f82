"""Supervisors' live warning policies, followed by every worker.

Policy changes travel on the compacted topic ``credit.policies`` (key: the scope,
value: the override or empty to delete). Every worker needs all of them, so this
is not a group consumer: it reads the whole topic from the start and then follows
it, replacing the processor's :class:`PolicySet` after each message. The next
event after a change is judged by the new policy, without a restart.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.schemas.policies import PolicyError

log = logging.getLogger(__name__)


class PolicyFollower(Service):
    """Reads ``credit.policies`` into ``processor.policies`` for as long as the worker runs."""

    def __init__(self, bootstrap: str, topic: str, processor: Any, **kwargs: Any) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.processor = processor
        self.applied = 0
        super().__init__(**kwargs)

    @Service.task
    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic) or {0}
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while not self.should_stop:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self._apply(record.key, record.value)
        finally:
            await consumer.stop()

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            log.warning("policy message without a scope key ignored")
            return
        try:
            self.processor.policies = apply_policy_message(self.processor.policies, key, value)
        except PolicyError as error:
            log.warning("policy message for %s rejected: %s", key.decode(errors="replace"), error)
            return
        self.applied += 1
