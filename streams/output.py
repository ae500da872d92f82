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
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from mode import Service

from creditbrain.streams.messages import Outbound

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
        **kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.acks: int | str = "all" if acks == "all" else 1
        self.request_timeout_ms = request_timeout_ms
        self.topics = topics  # contract suffix -> full topic name
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
    ) -> None:
        """Send every message (and table changelog record) and wait until the broker has them.

        ``changelog`` holds ``(topic, partition, key, value)`` records for the tables'
        changelog topics: written here with the partition the table keeps the key in,
        exactly as Faust would write them, without its per-message buffer.
        """
        await self.ready.wait()
        producer = self._producer
        if producer is None or not (messages or changelog):
            return
        outputs: list[_Record] = [
            (self.topics[m.topic], None, m.key, m.value, m.headers or None) for m in messages
        ]
        # Outputs first: a crash between the two sends leaves the state without the
        # batch, so the redelivered batch produces its outputs again (same ids, collapsed
        # downstream). The other order could lose a warning: state saying it was sent,
        # the warning never written.
        await self._send_all(producer, outputs)
        await self._send_all(
            producer, [(topic, part, key, value, None) for topic, part, key, value in changelog]
        )

    async def _send_all(self, producer: AIOKafkaProducer, records: list[_Record]) -> None:
        """Send and wait for every record; re-send those the broker refused for a while.

        A refusal such as NotLeaderForPartition (a topic just created, a leader moving)
        fails only that record's delivery future, which a flush does not report: every
        future is awaited, so no output is dropped without anyone knowing.
        """
        for attempt in range(_ATTEMPTS):
            futures = [
                await producer.send(topic, value=value, key=key, partition=part, headers=headers)
                for topic, part, key, value, headers in records
            ]
            outcomes = await self._outcomes(records, futures)
            failed = [
                (record, outcome)
                for record, outcome in zip(records, outcomes, strict=True)
                if isinstance(outcome, BaseException)
            ]
            if not failed:
                return
            error = failed[0][1]
            if attempt + 1 == _ATTEMPTS or not getattr(error, "retriable", False):
                raise RuntimeError(f"{len(failed)} outputs not delivered: {error!r}") from error
            log.warning("%d outputs refused (%r); sending them again", len(failed), error)
            records = [record for record, _ in failed]
            await asyncio.sleep(0.5 * (attempt + 1))

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
