"""Webhook delivery: signatures, matching, backoff, and a subscriber that is down.

The end-to-end tests POST to a real HTTP receiver on 127.0.0.1 (``http.server`` in a
thread) and keep dead letters in the real store.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest

from creditbrain.alerts.delivery import (
    DEAD_LETTER_COLUMNS,
    SIGNATURE_HEADER,
    DeadLetter,
    RetryPolicy,
    Subscription,
    classify_status,
    matching,
    sign,
    verify_signature,
)
from creditbrain.api.webhooks import Deliverer, WebhookDispatcher, load_subscriptions
from creditbrain.infra.store import Store

SECRET = "0123456789abcdef-secret"  # noqa: S105 - a test fixture's key


def warning(alert_id: str, level: str = "red", sector: str = "food_drug") -> bytes:
    return orjson.dumps(
        {"specversion": "1.0", "id": f"{alert_id}:1", "alertid": alert_id,
         "type": "cn.creditbrain.warning.opened",
         "data": {"alert_id": alert_id, "version": 1, "level": level, "sector": sector,
                  "district": "371102"}}
    )  # fmt: skip


def test_the_signature_verifies_only_the_exact_body() -> None:
    body = warning("a1")
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(SECRET, body, header)
    assert not verify_signature(SECRET, body.replace(b"red", b"RED"), header)
    assert not verify_signature("another-secret", body, header)
    assert not verify_signature(SECRET, body, header.removeprefix("sha256="))


def test_subscriptions_match_on_level_sector_district_and_feed() -> None:
    subs = [
        Subscription("all", "u", SECRET),
        Subscription("red", "u", SECRET, levels=frozenset({"red"})),
        Subscription("finance", "u", SECRET, sectors=frozenset({"finance"})),
        Subscription("lanshan", "u", SECRET, districts=frozenset({"371103"})),
        Subscription("grid", "u", SECRET, feed="grid"),
    ]
    doc = orjson.loads(warning("a1"))
    assert [s.id for s in matching(subs, "all", doc)] == ["all", "red"]
    assert [s.id for s in matching(subs, "grid", doc)] == ["grid"]
    blue = orjson.loads(warning("a2", level="blue", sector="finance"))
    assert [s.id for s in matching(subs, "all", blue)] == ["all", "finance"]


def test_backoff_doubles_up_to_the_cap() -> None:
    assert RetryPolicy(6, 0.5, 3.0).delays() == (0.5, 1.0, 2.0, 3.0, 3.0)
    assert [classify_status(s) for s in (200, 299, 301, 408, 410, 500)] == [
        "delivered", "delivered", "retry", "retry", "give_up", "retry",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="attempts >= 1"):
        RetryPolicy(0)


def test_a_dead_letter_keeps_one_id_per_subscription_and_body() -> None:
    one = DeadLetter("s", "a1", "u", warning("a1"), 3, "HTTP 503", failed_at=None)  # type: ignore[arg-type]
    again = DeadLetter("s", "a1", "u", warning("a1"), 5, "timeout", failed_at=None)  # type: ignore[arg-type]
    assert one.id == again.id != DeadLetter("t", "a1", "u", warning("a1"), 3, "", None).id  # type: ignore[arg-type]


# --- a real receiver -----------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that answers with ``statuses`` (then 204)."""

    port: int
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[bytes, str | None]] = field(default_factory=list)
    #: Every header of each delivery received, as sent.
    headers: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = receiver.statuses.pop(0) if receiver.statuses else 204
                if code == 204:
                    receiver.received.append((body, self.headers.get(SIGNATURE_HEADER)))
                    receiver.headers.append(dict(self.headers.items()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with socket.socket() as probe:  # a free port, not listening until start()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    found = Receiver(port)
    yield found
    found.stop()


def dispatcher(store: Store, topic: str = "credit.warnings", **kwargs: object) -> WebhookDispatcher:
    return WebhookDispatcher(
        bootstrap="unused:9092",
        topics={"all": topic},
        group_id="test-webhooks",
        load_subscriptions=lambda: [s.subscription for s in load_subscriptions(store)],
        write_dead_letters=lambda rows: store.insert_rows(
            "webhook_dead_letters", rows, DEAD_LETTER_COLUMNS
        ),
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02),
        **kwargs,  # type: ignore[arg-type]
    )


def subscribe(store: Store, url: str) -> str:
    from datetime import UTC, datetime

    from creditbrain.api.webhooks import StoredSubscription, save_subscription

    sub = Subscription("sub-1", url, SECRET, levels=frozenset({"red", "orange"}))
    save_subscription(store, StoredSubscription(sub, "regulator-1", "regulator", datetime.now(UTC)))
    return sub.id


async def test_a_subscriber_that_recovers_within_the_retries_gets_each_warning_once(
    store: Store, receiver: Receiver
) -> None:
    subscribe(store, receiver.url)
    receiver.statuses = [503, 502]
    receiver.start()
    hooks = dispatcher(store)
    async with httpx.AsyncClient() as client:
        await hooks.dispatch(
            Deliverer(client, hooks.retry),
            [("credit.warnings", warning("a1")), ("credit.warnings", warning("a2", "blue"))],
        )
    assert [orjson.loads(body)["alertid"] for body, _ in receiver.received] == ["a1"]
    assert all(verify_signature(SECRET, body, header) for body, header in receiver.received)
    assert (hooks.delivered, hooks.dead_lettered) == (1, 0)


async def test_a_subscriber_that_is_down_loses_nothing(store: Store, receiver: Receiver) -> None:
    from creditbrain.api.webhooks import replay_dead_letters

    subscription_id = subscribe(store, receiver.url)
    hooks = dispatcher(store)
    bodies = [warning(f"a{n}") for n in range(3)]
    async with httpx.AsyncClient() as client:
        deliverer = Deliverer(client, hooks.retry)
        started = time.monotonic()
        await hooks.dispatch(deliverer, [("credit.warnings", body) for body in bodies])
        # One subscriber's retries, then its pause: not three rounds of retries.
        assert time.monotonic() - started < 2
        letters = store.query_rows(
            "SELECT alert_id, attempts, body FROM webhook_dead_letters FINAL ORDER BY alert_id"
        )
        assert [(r["alert_id"], r["attempts"]) for r in letters] == [
            ("a0", 3),
            ("a1", 0),
            ("a2", 0),
        ]
        [sub] = [s.subscription for s in load_subscriptions(store)]
        assert (await replay_dead_letters(store, sub, deliverer)).remaining == 3  # still down
        receiver.start()
        result = await replay_dead_letters(store, sub, deliverer)
        assert (result.delivered, result.remaining) == (3, 0)
        assert (await replay_dead_letters(store, sub, deliverer)).delivered == 0
    assert sorted(body for body, _ in receiver.received) == sorted(bodies)
    assert all(verify_signature(SECRET, body, header) for body, header in receiver.received)
    assert subscription_id == sub.id


@pytest.mark.integration
async def test_the_dispatcher_commits_only_what_it_has_delivered(
    store: Store,
    receiver: Receiver,
    embedded_broker: object,
    fresh_topic: Callable[[str], str],
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from creditbrain.infra.broker import ensure_topics
    from creditbrain.schemas.contract import TopicSpec

    bootstrap: str = embedded_broker.bootstrap  # type: ignore[attr-defined]
    topic = fresh_topic("credit.warnings")
    ensure_topics(bootstrap, [TopicSpec(topic, 1)])
    subscribe(store, receiver.url)
    receiver.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, warning(f"k{n}"), key=b"s")
    finally:
        await producer.stop()
    hooks = dispatcher(store, topic)
    hooks.bootstrap = bootstrap
    hooks.group_id = f"{topic}-group"
    await hooks.start()
    try:
        for _ in range(200):
            if len(receiver.received) == 5:
                break
            await asyncio.sleep(0.05)
    finally:
        await hooks.stop()
    assert sorted(orjson.loads(b)["alertid"] for b, _ in receiver.received) == [
        f"k{n}" for n in range(5)
    ]
    check = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=hooks.group_id)
    await check.start()
    try:
        assert await check.committed(TopicPartition(topic, 0)) == 5
    finally:
        await check.stop()
