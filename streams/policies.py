"""Supervisors' live warning policies, followed by every worker.

Policy changes travel on the compacted topic ``credit.policies`` (key: the scope,
value: the override or empty to delete). Every worker needs all of them, so this
is not a group consumer: it reads the whole topic from the start and then follows
it, replacing the processor's :class:`PolicySet` after each message. The next
event after a change is judged by the new policy, without a restart, and the
worker judges no event before it has read every policy the topic held at its start.

The API follows the topic the same way into a :class:`PolicyView`, so the policy it
shows is the one the workers apply, not one rebuilt from the audit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from mode import Service

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.schemas.policies import PolicyError
from creditbrain.streams.kafka_io import PartitionReader

log = logging.getLogger(__name__)


class PolicyView:
    """Where a follower without an engine keeps the set it read (the API's copy of the topic).

    >>> PolicyView().policies.overrides
    {}
    """

    def __init__(self) -> None:
        self.policies = PolicySet()


class PolicyFollower(Service):
    """Reads ``credit.policies`` into ``processor.policies`` for as long as the worker runs.

    :attr:`ready` is set once the topic has been read to its true end: from then on
    the processor judges by every policy written before the worker started.
    """

    def __init__(self, bootstrap: str, topic: str, processor: Any, **kwargs: Any) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.processor = processor
        self.applied = 0
        self.ready = asyncio.Event()
        super().__init__(**kwargs)

    @Service.task
    async def _follow(self) -> None:
        # Followed for as long as the worker runs: a longer fetch wait keeps it quiet.
        async with PartitionReader(self.bootstrap, fetch_max_wait_ms=100) as reader:
            present = await reader.partitions([self.topic])
            # A topic not there yet is followed from its first partition once it is.
            await reader.assign(dict.fromkeys(present or [TopicPartition(self.topic, 0)]))
            if present:
                await reader.read_to_end(self._apply_all)
            log.info("%d policy messages applied at start", self.applied)
            self.ready.set()
            while not self.should_stop:
                for tp, records in (await reader.poll(timeout_ms=500)).items():
                    self._apply_all(tp, records)

    def _apply_all(
        self, _: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        for record in records:
            self._apply(record.key, record.value)

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
