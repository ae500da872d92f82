"""Sending a run straight to the contract's input topics.

Each message goes to the topic of its kind (a deliberately bad message to the
topic of the kind it was meant to be), keyed by ``subject.id`` exactly as in the
message, partitioned like the Java client (murmur2 of the key), so a subject's
events meet on one partition number on every topic.

The producer is aiokafka's, fed whole record batches: on the embedded broker,
kafka-python's per-message ``send`` managed about 10,000 messages a second and
aiokafka's per-message ``send`` about 68,000, while filled batches reach about
100,000. A paced run sends what it has every ``linger`` seconds, so a slow feed
still arrives live; a run at full speed sends batches when full, and at least
once a second, because every small batch costs the broker a request.

With a target ``rate`` the run is paced by message count: the event-time span is
compressed into the wall-clock time the rate implies (a year of 216,000 events at
2,000 a second takes 108 seconds).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Mapping
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder

from creditbrain.core.errors import BrokerError, ConfigurationError
from creditbrain.schemas.contract import KIND_TO_TOPIC, topic_name
from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.output import (
    ProgressCallback,
    ProgressMeter,
    Summary,
    write_truth,
)
from creditbrain.simulator.simulation import Simulator
from creditbrain.simulator.wire import SimEvent

_BATCH_BYTES = 1 << 20
_CHECK_EVERY = 256
_PROGRESS_SECONDS = 0.25
_FAST_FLUSH_SECONDS = 1.0
_MIN_SLEEP_SECONDS = 0.005

Acks = Literal[0, 1, "all"]


class _Batches:
    """One open record batch per (topic, partition); sends them when full or due."""

    def __init__(self, producer: AIOKafkaProducer, partitions: dict[str, list[int]]) -> None:
        self._producer = producer
        self._partitions = partitions
        self._open: dict[tuple[str, int], BatchBuilder] = {}
        self._hashes: dict[bytes, int] = {}
        self._in_flight: deque[asyncio.Future[object]] = deque()

    async def add(self, topic: str, key: bytes, value: bytes) -> None:
        hashed = self._hashes.get(key)
        if hashed is None:
            hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
        partitions = self._partitions[topic]
        where = (topic, partitions[hashed % len(partitions)])
        batch = self._open.get(where)
        if batch is None:
            batch = self._open[where] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            await self._send(where, batch)
            batch = self._open[where] = self._producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)

    async def _send(self, where: tuple[str, int], batch: BatchBuilder) -> None:
        topic, partition = where
        self._in_flight.append(await self._producer.send_batch(batch, topic, partition=partition))

    async def flush(self) -> None:
        """Send every open batch, and surface the failures of delivered ones."""
        for where, batch in list(self._open.items()):
            if batch.record_count():
                await self._send(where, batch)
        self._open.clear()
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft().result()

    async def drain(self) -> None:
        """Send everything and wait until the broker has acknowledged it."""
        await self.flush()
        await asyncio.gather(*self._in_flight)
        self._in_flight.clear()


async def produce_async(
    bootstrap: str,
    prefix: str = "credit",
    config: CityConfig | None = None,
    rate: float = 0.0,
    progress_callback: ProgressCallback | None = None,
    *,
    pseudonym_key: bytes,
    truth_path: Path | str | None = None,
    acks: Acks = 1,
    linger: float = 0.05,
    client_options: Mapping[str, Any] | None = None,
) -> Summary:
    """Simulate ``config`` onto the input topics under ``prefix``; see :func:`produce`."""
    if rate < 0 or linger <= 0:
        raise ConfigurationError("rate must be >= 0 and linger > 0")
    simulator = Simulator(config, pseudonym_key=pseudonym_key)
    topics = {kind: topic_name(prefix, suffix) for kind, suffix in KIND_TO_TOPIC.items()}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=acks,
        linger_ms=int(linger * 1000),
        max_batch_size=_BATCH_BYTES,
        max_request_size=4 * _BATCH_BYTES,
        **(client_options or {}),
    )
    try:
        await producer.start()
        partitions = {t: sorted(await producer.partitions_for(t)) for t in set(topics.values())}
        batches = _Batches(producer, partitions)
        by_topic, meter = await _send_all(
            simulator, topics, batches, rate, linger, progress_callback
        )
        await batches.drain()
    except KafkaError as error:
        raise BrokerError(f"producing to Kafka at {bootstrap} failed: {error}") from error
    finally:
        await producer.stop()
    truth = simulator.ground_truth()
    truth_file = Path(truth_path) if truth_path is not None else None
    if truth_file is not None:
        write_truth(truth_file, truth)
    seconds = time.perf_counter() - meter.began
    return Summary.of(truth, seconds, by_topic=dict(by_topic), truth_path=truth_file)


async def _send_all(
    simulator: Simulator,
    topics: dict[str, str],
    batches: _Batches,
    rate: float,
    linger: float,
    progress_callback: ProgressCallback | None,
) -> tuple[Counter[str], ProgressMeter]:
    """The send loop: pace by count, flush every ``linger``, report progress."""
    meter = ProgressMeter(simulator, progress_callback)
    by_topic: Counter[str] = Counter()
    sent = 0
    last: SimEvent | None = None
    clock = time.perf_counter
    last_flush = last_report = meter.began
    # Paced runs look at the clock on every message and send what they have every
    # ``linger``; fast runs look every few hundred messages and mostly send full
    # batches (small ones cost the broker a request each), but still once a second
    # for the quiet topics.
    check_every = 1 if rate else _CHECK_EVERY
    flush_every = linger if rate else max(linger, _FAST_FLUSH_SECONDS)
    events = simulator.events()
    first = next(events, None)
    if first is None:
        return by_topic, meter
    # Pace from the first message: building the population takes a moment before it.
    paced_from = clock()
    for last in chain((first,), events):
        topic = topics[last.kind]
        await batches.add(topic, last.key, last.value)
        by_topic[topic] += 1
        sent += 1
        if sent % check_every:
            continue
        now = clock()
        if rate:
            ahead = sent / rate - (now - paced_from)
            if ahead >= _MIN_SLEEP_SECONDS:  # shorter sleeps cost more than they pace
                await asyncio.sleep(ahead)
                now = clock()
        if now - last_flush >= flush_every:
            await batches.flush()
            last_flush = now
        if now - last_report >= _PROGRESS_SECONDS:
            meter.report(sent, last)
            last_report = now
    meter.report(sent, last, done=True)
    return by_topic, meter


def produce(
    bootstrap: str,
    prefix: str = "credit",
    config: CityConfig | None = None,
    rate: float = 0.0,
    progress_callback: ProgressCallback | None = None,
    *,
    pseudonym_key: bytes,
    truth_path: Path | str | None = None,
    acks: Acks = 1,
    linger: float = 0.05,
    client_options: Mapping[str, Any] | None = None,
) -> Summary:
    """Simulate ``config`` straight onto the Kafka input topics.

    Parameters
    ----------
    bootstrap
        ``host:port`` of the broker; the topics must exist (``ensure_topics``).
    prefix
        Topic prefix (``credit`` -> ``credit.events.penalty`` ...).
    config
        What to simulate; the defaults if ``None``.
    rate
        Target messages per second; 0 sends as fast as possible.
    progress_callback
        Called about four times a second and at the end.
    pseudonym_key
        Key of the persons' pseudonyms in the ground truth (the deployment's).
    truth_path
        Where to write the ground truth, if anywhere.
    acks
        Acknowledgements the producer waits for (``1``: the leader; ``"all"``).
    linger
        Longest time (seconds) a message waits in an open batch of a paced run.
    client_options
        More aiokafka producer options: the deployment's TLS and SASL settings.
    """
    return asyncio.run(
        produce_async(
            bootstrap,
            prefix,
            config,
            rate,
            progress_callback,
            pseudonym_key=pseudonym_key,
            truth_path=truth_path,
            acks=acks,
            linger=linger,
            client_options=client_options,
        )
    )
