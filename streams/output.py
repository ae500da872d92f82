"""The worker's output producer: batches of outputs straight into aiokafka.

Faust's ``send_soon`` hands every message to a buffer that publishes it through
its own coroutine, one at a time; with five to six outputs per event that cost
more than all the credit logic (about 1,100 events/s measured). Here a batch's
outputs are appended to aiokafka's accumulator and flushed before the agent takes
the next batch, which is before Faust acknowledges (and later commits) the input
offsets: outputs stay at-least-once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from mode import Service
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from creditbrain.core.retrying import growing, log_before_sleep
from creditbrain.infra.kafka_security import aiokafka_options
from creditbrain.schemas.contract import WARNINGS, WARNINGS_GRID
from creditbrain.streams.messages import Outbound
from creditbrain.streams.sent import (
    Fences,
    Positions,
    SentWarnings,
    change_of,
    dump_fence,
    fence_key,
)

log = logging.getLogger(__name__)

#: Tries of one record before the batch fails (about 20 s of waiting in all).
_ATTEMPTS = 8
#: How long a request may wait for the broker's answer (aiokafka's default).
DEFAULT_REQUEST_TIMEOUT_MS = 40_000
#: Seconds of waiting for deliveries after which the worker says what it waits for.
_SLOW_S = 10.0
#: ``(topic, partition or None, key, value, headers or None)``
_Record = tuple[str, int | None, bytes | None, bytes, list[tuple[str, bytes]] | None]


class OutputProducer(Service):
    """One aiokafka producer for the contract's output topics."""

    def __init__(
        self,
        bootstrap: str,
        topics: dict[str, str],
        acks: str = "all",
        request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS,
        fence_topic: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.acks: int | str = "all" if acks == "all" else 1
        self.request_timeout_ms = request_timeout_ms
        self.topics = topics  # contract suffix -> full topic name
        #: Where fences are written (one partition, compacted); none: no fences.
        self.fence_topic = fence_topic
        self.sent = SentWarnings(
            name for suffix, name in topics.items() if suffix in (WARNINGS, WARNINGS_GRID)
        )
        self.fences = Fences()
        self.ready = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks=self.acks,
            linger_ms=5,
            max_batch_size=1024 * 1024,
            max_request_size=4 * 1024 * 1024,
            request_timeout_ms=self.request_timeout_ms,
            **aiokafka_options(),
        )
        await self._producer.start()
        self.ready.set()

    async def on_stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def publish(
        self,
        messages: Sequence[Outbound],
        changelog: Sequence[tuple[str, int, bytes, bytes]] = (),
        reached: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        """Send every message (and table changelog record) and wait until the broker has them.

        ``changelog`` holds ``(topic, partition, key, value)`` records for the tables'
        changelog topics: written here with the partition the table keeps the key in,
        exactly as Faust would write them, without its per-message buffer. ``reached``
        maps each ``(topic, partition)`` of the batch's input to its last offset: the
        fences of those partitions (:attr:`fences`) are written with the changelog
        records. A warning found on its topic above the fences (a batch redelivered
        after a crash) is not sent again.
        """
        await self.ready.wait()
        producer = self._producer
        if producer is None or not (messages or changelog):
            return
        sent = self.sent
        ends = sent.snapshot()
        outputs: list[_Record] = [
            (self.topics[m.topic], None, m.key, m.value, m.headers or None)
            for m in messages
            if not sent.already_sent(self.topics[m.topic], m.headers)
        ]
        if len(outputs) < len(messages):
            log.info(
                "%d warnings already on their topics not sent again", len(messages) - len(outputs)
            )
        # Outputs first: a crash between the two sends leaves the state without the
        # batch, so the redelivered batch produces its outputs again: warnings are
        # found above the fence and left out, the rest collapse by id downstream. The
        # other order could lose a warning: state saying it was sent, never written.
        await self._send_all(producer, outputs, since=ends)
        records: list[_Record] = [
            (topic, part, key, value, None) for topic, part, key, value in changelog
        ]
        reached = reached or {}
        if self.fence_topic is not None and reached:
            # With the state that makes it true: if the fence lands and part of the
            # changelog does not, the redelivered batch's warnings still lie above it.
            fence = dump_fence(ends)
            for partition in sorted({partition for _, partition in reached}):
                value = self.fences.value(partition, fence)
                if value is not None:
                    records.append(
                        (self.fence_topic, 0, fence_key(partition).encode(), value, None)
                    )
        await self._send_all(producer, records)
        for (topic, partition), offset in reached.items():
            self.fences.processed(topic, partition, offset)

    async def _send_all(
        self, producer: AIOKafkaProducer, records: list[_Record], since: Positions | None = None
    ) -> None:
        """Send and wait for every record; re-send those the broker refused for a while.

        A refusal such as NotLeaderForPartition (a topic just created, a leader moving)
        fails only that record's delivery future, which a flush does not report: every
        future is awaited, so no output is dropped without anyone knowing. A request
        that timed out may still have been written: before warnings are sent again,
        the warning topics are read from ``since`` (the ends before the first try) and
        those found there are not.
        """
        pending = records
        tries = 0

        async def attempt() -> None:
            nonlocal pending, tries
            tries += 1
            if tries > 1 and since is not None:
                pending = await self._not_yet_written(pending, since)
            futures = [
                await producer.send(topic, value=value, key=key, partition=part, headers=headers)
                for topic, part, key, value, headers in pending
            ]
            outcomes = await self._outcomes(pending, futures)
            for (topic, *_), outcome in zip(pending, outcomes, strict=True):
                if not isinstance(outcome, BaseException):
                    self.sent.delivered(topic, outcome.partition, outcome.offset)
            failed = [
                (record, outcome)
                for record, outcome in zip(pending, outcomes, strict=True)
                if isinstance(outcome, BaseException)
            ]
            if failed:
                pending = [record for record, _ in failed]
                raise _Refused(len(failed), failed[0][1])

        retrying = AsyncRetrying(
            stop=stop_after_attempt(_ATTEMPTS),
            wait=growing(0.5, 0.5),
            sleep=_pause,
            retry=retry_if_exception(_Refused.retriable),
            before_sleep=log_before_sleep(
                log,
                "%d outputs refused (%r); sending them again in %.1fs",
                describe=_Refused.describe,
            ),
            reraise=True,
        )
        try:
            await retrying(attempt)
        except _Refused as refused:
            raise RuntimeError(
                f"{refused.count} outputs not delivered: {refused.error!r}"
            ) from refused.error

    async def _not_yet_written(self, records: list[_Record], since: Positions) -> list[_Record]:
        """``records`` without the warnings that a timed-out request wrote all the same."""
        sent = self.sent
        if not any(topic in sent.topics for topic, *_ in records):
            return records
        found, _ = await sent.read(self.bootstrap, since)
        left = [
            (topic, part, key, value, headers)
            for topic, part, key, value, headers in records
            if topic not in sent.topics or (topic, *(change_of(headers) or (b"", b""))) not in found
        ]
        if len(left) < len(records):
            log.warning("%d refused warnings were written all the same", len(records) - len(left))
        return left

    @staticmethod
    async def _outcomes(records: list[_Record], futures: list[asyncio.Future[Any]]) -> list[Any]:
        """Each delivery's result or exception; says which partitions keep it waiting."""
        waited = 0.0
        pending = set(futures)
        while pending:
            _, pending = await asyncio.wait(pending, timeout=_SLOW_S)
            if pending:
                waited += _SLOW_S
                slow = Counter(
                    topic if part is None else f"{topic}[{part}]"
                    for (topic, part, *_), fut in zip(records, futures, strict=True)
                    if fut in pending
                )
                log.warning("%d outputs undelivered after %.0f s: %s", len(pending), waited, slow)
        return [fut.exception() or fut.result() for fut in futures]


class _Refused(Exception):
    """``count`` records of a send were refused; ``error`` is the first refusal."""

    def __init__(self, count: int, error: BaseException) -> None:
        super().__init__(count, error)
        self.count = count
        self.error = error

    @staticmethod
    def retriable(error: BaseException) -> bool:
        """A refusal the broker says may pass (a leader moving), not a bad record."""
        return isinstance(error, _Refused) and bool(getattr(error.error, "retriable", False))

    @staticmethod
    def describe(error: BaseException) -> tuple[object, ...]:
        return (error.count, error.error) if isinstance(error, _Refused) else (0, error)


async def _pause(seconds: float) -> None:
    """The wait between two tries (a test replaces it to list the waits)."""
    await asyncio.sleep(seconds)
