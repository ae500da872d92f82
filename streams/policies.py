"""Supervisors' live warning policies, followed by every worker.

Policy changes travel on the compacted topic ``credit.policies`` (key: the scope,
value: the override or empty to delete). Every worker needs all of them, so this
is not a group consumer: it reads the whole topic from the start and then follows
it, replacing the processor's :class:`PolicySet` after each message. The next
event after a change is judged by the new policy, without a restart, and the
worker judges no event before it has read every policy the topic held at its start.

A change read while the worker runs (after its start) also re-judges the open
warnings it concerns at once (:meth:`creditbrain.engine.Engine.change_policies`):
the follower hands the new set and the change's time (the message's timestamp) to
``on_change``, which the worker runs under the same lock as a batch, so the
re-judging enters the order of events between two batches and its warnings and
states are sent like a batch's.

The API follows the topic the same way into a :class:`PolicyView`, so the policy it
shows is the one the workers apply, not one rebuilt from the audit.

Shadow policy sets (:mod:`creditbrain.engine.shadow`) travel the same way on
``credit.policies.shadow``: :class:`ShadowFollower` keeps ``processor.shadows``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from mode import Service

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.engine.shadow import ShadowSet, apply_shadow_message
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

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        processor: Any,
        on_change: Callable[[PolicySet, int], Awaitable[None]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.processor = processor
        #: Given the set after a change read once running, and the change's time (ms).
        self.on_change = on_change
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
                    await self._follow_all(tp, records)

    async def _follow_all(
        self, tp: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Messages read once running: each change handed to :attr:`on_change`, if any."""
        if self.on_change is None:
            self._apply_all(tp, records)
            return
        for record in records:
            before = self.processor.policies
            self._apply(record.key, record.value)
            after = self.processor.policies
            if after is not before:
                # Back to the set before: on_change puts the new one in force itself.
                self.processor.policies = before
                await self.on_change(after, record.timestamp)

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


class ShadowView:
    """Where a follower without an engine keeps the shadows it read.

    >>> bool(ShadowView().shadows)
    False
    """

    def __init__(self) -> None:
        self.shadows = ShadowSet()


class ShadowFollower(PolicyFollower):
    """Reads ``credit.policies.shadow`` into ``processor.shadows`` (engine/shadow.py).

    A shadow judges from the next re-scoring on; starting or ending one re-judges
    nothing (the live warnings are not its business).
    """

    async def _follow_all(
        self, tp: TopicPartition, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        self._apply_all(tp, records)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            log.warning("shadow message without a name ignored")
            return
        try:
            self.processor.shadows = apply_shadow_message(self.processor.shadows, key, value)
        except PolicyError as error:
            log.warning("shadow message rejected: %s", error)
            return
        self.applied += 1
