"""Signed webhook delivery of warnings: the dispatcher, the subscription table, replay.

:class:`WebhookDispatcher` is its own consumer group on ``credit.warnings`` (feed
``all``) and ``credit.warnings.grid`` (feed ``grid``). For each batch it POSTs every
warning to the subscriptions that want it (:mod:`creditbrain.alerts.delivery`
decides who, how it is signed and how often it is retried), writes the deliveries
that gave up to ``webhook_dead_letters``, and only then commits the batch. A
subscriber that is down therefore loses nothing: what it missed is either still on
the topic (the dispatcher crashed before the commit, and redelivers) or a dead
letter, re-sent by :func:`replay_dead_letters`: by the dispatcher itself every
``replay_every_s`` once the subscriber answers again, or at once through
``POST /subscriptions/{id}/replay``.

Subscribers are served concurrently and each in order. After a subscriber's dead
letter, its later warnings go straight to dead letters for a while
(``pause_after_failure_s``): one dead endpoint must not hold up everyone's batch for
minutes of retries.

With a :class:`~creditbrain.api.targets.TargetPolicy` (as ``serve`` and
``creditbrain api --webhooks`` build it), every try first checks that the
subscriber's host still resolves to addresses the policy allows, and the
connection is made to the address checked: a refused target is a dead letter at
once (``target refused: ...``), never a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from mode import Service
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt

from creditbrain.alerts.delivery import (
    DEAD_LETTER_COLUMNS,
    DeadLetter,
    Feed,
    Outcome,
    RetryPolicy,
    Subscription,
    classify_status,
    matching,
    webhook_headers,
)
from creditbrain.api.targets import TargetPolicy, TargetRefused, webhook_client
from creditbrain.core.errors import StoreError
from creditbrain.infra.groups import group_consumer
from creditbrain.infra.store import Store
from creditbrain.schemas.warnings import CONTENT_TYPE

log = logging.getLogger(__name__)

#: How long a stop waits for the batch on its way (deliveries, rows, commit) to finish.
_STOP_GRACE_S = 30.0

SUBSCRIPTION_COLUMNS = (
    "id", "url", "secret", "feed", "levels", "sectors", "districts",
    "owner", "role", "created_at", "deleted", "version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A subscription with its owner, as kept in ``webhook_subscriptions``."""

    subscription: Subscription
    owner: str
    role: str
    created_at: datetime


def load_subscriptions(store: Store) -> list[StoredSubscription]:
    """The live (not deleted) subscriptions."""
    rows = store.query_rows(
        "SELECT id, url, secret, feed, levels, sectors, districts, owner, role, created_at "
        "FROM webhook_subscriptions FINAL WHERE deleted = 0 ORDER BY created_at, id"
    )
    subjects = subscription_subjects(store)
    return [
        StoredSubscription(
            Subscription(
                id=str(row["id"]),
                url=str(row["url"]),
                secret=str(row["secret"]),
                feed="grid" if row["feed"] == "grid" else "all",
                levels=_strings(row["levels"]),
                sectors=_strings(row["sectors"]),
                districts=_strings(row["districts"]),
                subjects=subjects.get(str(row["id"]), frozenset()),
            ),
            owner=str(row["owner"]),
            role=str(row["role"]),
            created_at=_moment(row["created_at"]),
        )
        for row in rows
    ]


def subscription_subjects(store: Store) -> dict[str, frozenset[str]]:
    """Subscription id -> the subjects it is limited to (watch lists, ids); others: none."""
    rows = store.query_rows("SELECT subscription_id, subject_ids FROM subscription_subjects FINAL")
    return {str(row["subscription_id"]): _strings(row["subject_ids"]) for row in rows}


def save_subscription_subjects(
    store: Store, subscription_id: str, subjects: frozenset[str], watchlist: str = ""
) -> None:
    """Limit a subscription to ``subjects`` (kept beside it, the newest row wins)."""
    row = {
        "subscription_id": subscription_id, "watchlist": watchlist,
        "subject_ids": sorted(subjects), "version": time.time_ns(),
    }  # fmt: skip
    store.insert_rows(
        "subscription_subjects", [row], ("subscription_id", "watchlist", "subject_ids", "version")
    )


def _strings(value: object) -> frozenset[str]:
    # An Array(String) column comes back as a list; anything else is a broken table.
    if not isinstance(value, list | tuple):
        raise StoreError(f"webhook_subscriptions: expected an array, got {value!r}")
    return frozenset(str(item) for item in value)


def _moment(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise StoreError(f"webhook_subscriptions.created_at is not a timestamp: {value!r}")
    return value


def save_subscription(store: Store, stored: StoredSubscription, deleted: bool = False) -> None:
    """Write (or, with ``deleted``, retire) a subscription; the newest row wins."""
    sub = stored.subscription
    row = {
        "id": sub.id, "url": sub.url, "secret": sub.secret, "feed": sub.feed,
        "levels": sorted(sub.levels), "sectors": sorted(sub.sectors),
        "districts": sorted(sub.districts), "owner": stored.owner, "role": stored.role,
        "created_at": stored.created_at, "deleted": int(deleted), "version": time.time_ns(),
    }  # fmt: skip
    store.insert_rows("webhook_subscriptions", [row], SUBSCRIPTION_COLUMNS)


class Deliverer:
    """POSTs one body to one subscriber, retrying on the policy's schedule.

    Each try is signed at ``clock()`` (Unix seconds), so that a late retry or a
    replayed dead letter still passes the receiver's five-minute check.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        targets: TargetPolicy | None = None,
    ) -> None:
        self.client = client
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.targets = targets

    async def deliver(self, sub: Subscription, body: bytes) -> tuple[bool, int, str]:
        """``(delivered, attempts made, last error)``."""
        if self.targets is not None:
            try:
                await self.targets.check_url(sub.url)
            except TargetRefused as refused:
                return False, 1, f"target refused: {refused}"
        msg_id = _event_id(body)
        tries = 0

        async def attempt() -> tuple[Outcome, str]:
            nonlocal tries
            tries += 1
            headers = {
                "Content-Type": f"{CONTENT_TYPE}; charset=utf-8",
                "User-Agent": "creditbrain-webhooks",
                **webhook_headers(sub.secret, msg_id, int(self.clock()), body),
            }
            try:
                response = await self.client.post(sub.url, content=body, headers=headers)
            except httpx.HTTPError as failure:
                return "retry", f"{type(failure).__name__}: {failure}"
            return classify_status(response.status_code), f"HTTP {response.status_code}"

        # Only a "retry" answer is tried again; after the last try its answer stands.
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait(),
            retry=retry_if_result(lambda answer: answer[0] == "retry"),
            sleep=self.sleep,
            retry_error_callback=_last_answer,
        )
        answer: tuple[Outcome, str] = await retrying(attempt)
        outcome, error = answer
        if outcome == "delivered":
            return True, tries, ""
        return False, tries, error


def _last_answer(state: RetryCallState) -> tuple[Outcome, str]:
    """The last try's ``(outcome, error)`` once the tries are used up."""
    if state.outcome is None:  # tenacity calls this only after a try
        return "retry", "not tried"
    answer: tuple[Outcome, str] = state.outcome.result()
    return answer


def _field(body: bytes, name: str) -> str:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return str(doc.get(name, "")) if isinstance(doc, dict) else ""


def _event_id(body: bytes) -> str:
    """The CloudEvents ``id`` (alert id and version), the ``webhook-id`` of a delivery.

    A body without one (never sent by the system) gets the hash of its bytes, so that
    it is still signed under an id that names it.
    """
    return _field(body, "id") or hashlib.sha256(body).hexdigest()[:32]


def _alert_id(body: bytes) -> str:
    """The alert a warning belongs to (``alertid``): dead letters are listed by alert."""
    return _field(body, "alertid")


class WebhookDispatcher(Service):
    """Consumes the warning topics and delivers them to the subscriptions.

    Parameters
    ----------
    bootstrap
        Kafka bootstrap servers.
    topics
        Topic of each feed, e.g. ``{"all": "credit.warnings", "grid": "credit.warnings.grid"}``.
    group_id
        The dispatcher's consumer group (its offsets are its progress).
    load_subscriptions
        Blocking ``() -> subscriptions`` (runs in a thread), re-read every ``refresh_s``.
    write_dead_letters
        Blocking ``(rows) -> None`` into ``webhook_dead_letters`` (runs in a thread).
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Mapping[Feed, str],
        group_id: str,
        load_subscriptions: Callable[[], Sequence[Subscription]],
        write_dead_letters: Callable[[list[dict[str, object]]], None],
        retry: RetryPolicy,
        timeout_s: float = 10.0,
        pause_after_failure_s: float = 60.0,
        refresh_s: float = 5.0,
        replay: Callable[[Subscription, Deliverer], Awaitable[ReplayResult]] | None = None,
        replay_every_s: float = 30.0,
        targets: TargetPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        self.bootstrap = bootstrap
        self.feeds = {topic: feed for feed, topic in topics.items()}
        self.group_id = group_id
        self.load_subscriptions = load_subscriptions
        self.write_dead_letters = write_dead_letters
        self.retry = retry
        self.timeout_s = timeout_s
        self.pause_after_failure_s = pause_after_failure_s
        self.refresh_s = refresh_s
        self.replay = replay
        self.replay_every_s = replay_every_s
        self.targets = targets
        self.delivered = 0
        self.dead_lettered = 0
        self.replayed = 0
        #: Attempts beyond the first, delivered in the end or not.
        self.retries = 0
        self._subscriptions: Sequence[Subscription] = ()
        self._loaded_at = float("-inf")
        self._paused_until: dict[str, float] = {}
        super().__init__(**kwargs)

    @Service.task
    async def _run(self) -> None:
        consumer = group_consumer(self.bootstrap, self.group_id, *self.feeds)
        await consumer.start()
        try:
            async with webhook_client(self.timeout_s, self.targets) as client:
                deliverer = Deliverer(client, self.retry, targets=self.targets)
                while not self.should_stop:
                    batch = await consumer.getmany(timeout_ms=200, max_records=200)
                    records = [record for part in batch.values() for record in part]
                    if not records:
                        continue
                    step = asyncio.ensure_future(self._deliver(consumer, deliverer, records))
                    try:
                        await asyncio.shield(step)
                    except asyncio.CancelledError:
                        # Stopped with a batch on its way: let it finish (deliveries, their
                        # rows, the commit), so that a clean stop sends nothing twice.
                        await asyncio.wait([step], timeout=_STOP_GRACE_S)
                        raise
        finally:
            await consumer.stop()

    async def _deliver(
        self, consumer: AIOKafkaConsumer, deliverer: Deliverer, records: list[ConsumerRecord]
    ) -> None:
        """Deliver one batch, then commit it: only what was delivered is ever committed."""
        await self.dispatch(deliverer, [(r.topic, r.value) for r in records])
        await consumer.commit()

    @Service.task
    async def _replay_dead_letters(self) -> None:
        """Every ``replay_every_s``, re-send each subscriber's dead letters, oldest first.

        A replay stops at the subscriber's first failure (one try), so a subscriber
        that is still down costs one request per round; one that answers again gets
        everything it missed without anyone asking.
        """
        replay = self.replay
        if replay is None or self.replay_every_s <= 0:
            return
        async with webhook_client(self.timeout_s, self.targets) as client:
            deliverer = Deliverer(client, RetryPolicy(attempts=1), targets=self.targets)
            while not self.should_stop:
                await self.sleep(self.replay_every_s)
                for sub in await self._current_subscriptions():
                    if self.should_stop or time.monotonic() < self._paused_until.get(sub.id, 0.0):
                        continue
                    try:
                        result = await replay(sub, deliverer)
                    except Exception:
                        log.exception("replay of the dead letters of %s failed", sub.id)
                        continue
                    self.replayed += result.delivered
                    if result.delivered:
                        log.info("%d dead letters re-sent to %s", result.delivered, sub.id)

    async def dispatch(self, deliverer: Deliverer, messages: Sequence[tuple[str, bytes]]) -> None:
        """Deliver one batch of ``(topic, body)``; return once each is delivered or dead."""
        subscriptions = await self._current_subscriptions()
        queues: dict[str, list[tuple[Subscription, bytes]]] = defaultdict(list)
        for topic, body in messages:
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                log.error("a message on %s is not JSON; it cannot be delivered", topic)
                continue
            for sub in matching(subscriptions, self.feeds[topic], doc):
                queues[sub.id].append((sub, body))
        results = await asyncio.gather(
            *(self._serve(deliverer, queue) for queue in queues.values())
        )
        letters = [letter.row() for letters in results for letter in letters]
        if letters:
            # Written before the commit: if this fails, the batch is delivered again.
            await asyncio.to_thread(self.write_dead_letters, letters)
            self.dead_lettered += len(letters)

    async def _serve(
        self, deliverer: Deliverer, queue: list[tuple[Subscription, bytes]]
    ) -> list[DeadLetter]:
        letters = []
        for sub, body in queue:
            if time.monotonic() < self._paused_until.get(sub.id, 0.0):
                delivered, attempts, error = False, 0, "not tried: subscriber failing recently"
            else:
                delivered, attempts, error = await deliverer.deliver(sub, body)
                self.retries += max(attempts - 1, 0)
            if delivered:
                self.delivered += 1
                continue
            if attempts:
                self._paused_until[sub.id] = time.monotonic() + self.pause_after_failure_s
            letters.append(
                DeadLetter(
                    sub.id, _alert_id(body), sub.url, body, attempts, error, datetime.now(UTC)
                )
            )
        return letters

    async def _current_subscriptions(self) -> Sequence[Subscription]:
        if time.monotonic() - self._loaded_at >= self.refresh_s:
            self._subscriptions = await asyncio.to_thread(self.load_subscriptions)
            self._loaded_at = time.monotonic()
        return self._subscriptions


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did: dead letters re-delivered, and those still waiting."""

    delivered: int
    remaining: int


async def replay_dead_letters(
    store: Store, subscription: Subscription, deliverer: Deliverer
) -> ReplayResult:
    """Re-send the subscription's dead letters not replayed yet, oldest first.

    A delivered letter is marked replayed (a newer row with ``replayed_at``). The
    replay stops at the first failure, so order is kept and a subscriber that is
    still down costs one failed try; the rest wait for the next replay.
    """
    rows = await asyncio.to_thread(
        store.query_rows,
        "SELECT id, subscription_id, alert_id, url, body, attempts, last_error, failed_at "
        "FROM webhook_dead_letters FINAL "
        "WHERE subscription_id = {sub:String} AND replayed_at IS NULL ORDER BY failed_at, id",
        {"sub": subscription.id},
    )
    done: list[dict[str, object]] = []
    for row in rows:
        delivered, _, _ = await deliverer.deliver(subscription, str(row["body"]).encode())
        if not delivered:
            break
        done.append({**row, "replayed_at": datetime.now(UTC)})
    if done:
        await asyncio.to_thread(
            store.insert_rows, "webhook_dead_letters", done, DEAD_LETTER_COLUMNS
        )
    return ReplayResult(delivered=len(done), remaining=len(rows) - len(done))
