"""Webhook signatures as Standard Webhooks defines them, checked by its reference library.

``standardwebhooks`` stands for any receiver written against the specification: it
must accept what the dispatcher sends, and :func:`verify_webhook` (the helper a
receiver may import or copy) must agree with it on every delivery, good or bad.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from creditbrain.alerts.delivery import (
    SIGNATURE_HEADER,
    RetryPolicy,
    Subscription,
    sign_webhook,
    verify_signature,
    verify_webhook,
    webhook_headers,
)
from creditbrain.api.webhooks import Deliverer

SECRET = "0123456789abcdef-secret"  # noqa: S105 - a test fixture's key
SUB = Subscription("sub-1", "http://receiver.test/hook", SECRET)


def body(alert_id: str = "3f0b", version: int = 2) -> bytes:
    return orjson.dumps(
        {"specversion": "1.0", "id": f"{alert_id}:{version}", "alertid": alert_id,
         "type": "cn.creditbrain.warning.escalated", "source": "creditbrain/alerts",
         "data": {"alert_id": alert_id, "version": version, "level": "red", "name": "某公司"}}
    )  # fmt: skip


def reference() -> Webhook:
    # The library takes the key as bytes, or as "whsec_" + base64 of them.
    return Webhook(SECRET.encode())


async def deliver(sent: bytes, statuses: list[int], clock: list[float]) -> list[httpx.Request]:
    """Deliver ``sent`` to a receiver answering ``statuses``; every request it saw."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(statuses.pop(0) if statuses else 204)

    async def no_wait(_: float) -> None:
        return None

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport) as client:
        deliverer = Deliverer(client, RetryPolicy(3, 0.0, 0.0), no_wait, clock=lambda: clock.pop(0))
        delivered, _, _ = await deliverer.deliver(SUB, sent)
    assert delivered
    return seen


async def test_the_reference_library_accepts_what_the_dispatcher_sends() -> None:
    sent = body()
    [request] = await deliver(sent, [], [time.time()])
    headers = dict(request.headers.items())
    assert request.content == sent
    assert headers["webhook-id"] == "3f0b:2"  # the CloudEvents id
    assert reference().verify(request.content, headers) == orjson.loads(sent)
    assert verify_webhook(SECRET, headers, request.content, now=time.time())
    # The older signature is still sent, over the body alone.
    assert verify_signature(SECRET, request.content, headers[SIGNATURE_HEADER.lower()])
    assert headers["content-type"].startswith("application/cloudevents+json")


async def test_each_try_is_signed_at_its_own_time() -> None:
    now = time.time()
    first, retry = await deliver(body(), [503], [now - 3600, now])
    assert first.headers["webhook-timestamp"] == str(int(now - 3600))
    assert retry.headers["webhook-timestamp"] == str(int(now))
    assert first.headers["webhook-id"] == retry.headers["webhook-id"]
    reference().verify(retry.content, dict(retry.headers.items()))
    with pytest.raises(WebhookVerificationError):  # an hour old: refused as a replay
        reference().verify(first.content, dict(first.headers.items()))


def test_changes_of_one_alert_are_distinct_webhook_messages() -> None:
    now = int(time.time())
    escalated = webhook_headers(SECRET, "3f0b:2", now, body(version=2))
    resolved = webhook_headers(SECRET, "3f0b:3", now, body(version=3))
    assert escalated["webhook-id"] != resolved["webhook-id"]
    assert escalated["webhook-signature"] != resolved["webhook-signature"]


def library_accepts(sent: bytes, headers: dict[str, str]) -> bool:
    try:
        reference().verify(sent, headers)
    except WebhookVerificationError:
        return False
    return True


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-400, False), (-290, True), (0, True), (290, True), (400, False)]
)
def test_the_helper_and_the_library_agree_on_the_five_minute_window(
    skew: int, accepted: bool
) -> None:
    sent, now = body(), time.time()
    headers = webhook_headers(SECRET, "3f0b:2", int(now) + skew, sent)
    assert verify_webhook(SECRET, headers, sent, now=now) is accepted
    assert library_accepts(sent, headers) is accepted


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-301, False), (-300, True), (300, True), (301, False)]
)
def test_the_window_is_five_minutes_either_way(offset: int, accepted: bool) -> None:
    sent, stamp = body(), 1772676002
    headers = webhook_headers(SECRET, "3f0b:2", stamp, sent)
    assert verify_webhook(SECRET, headers, sent, now=stamp + offset) is accepted


@given(
    msg_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    payload=st.binary(max_size=200),
    tamper=st.sampled_from(["none", "body", "id", "timestamp", "secret", "signature"]),
)
def test_the_helper_accepts_exactly_what_the_library_signs(
    msg_id: str, payload: bytes, tamper: str
) -> None:
    stamp = int(time.time())
    signature = reference().sign(msg_id, datetime.fromtimestamp(stamp, UTC), payload)
    assert signature == sign_webhook(SECRET, msg_id, stamp, payload)
    headers = {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(stamp),
        "Webhook-Signature": signature,
    }
    secret = SECRET
    if tamper == "body":
        payload += b" "
    elif tamper == "id":
        headers["Webhook-Id"] = msg_id + "x"
    elif tamper == "timestamp":
        headers["Webhook-Timestamp"] = str(stamp + 1)
    elif tamper == "secret":
        secret = SECRET + "x"
    elif tamper == "signature":
        digest = bytearray(base64.b64decode(signature[3:]))
        digest[0] ^= 1
        headers["Webhook-Signature"] = "v1," + base64.b64encode(bytes(digest)).decode()
    assert verify_webhook(secret, headers, payload, now=stamp) is (tamper == "none")


def test_the_helper_takes_any_of_several_signatures_and_refuses_malformed_headers() -> None:
    sent, stamp = body(), int(time.time())
    good = sign_webhook(SECRET, "3f0b:2", stamp, sent)
    rotated = {"webhook-id": "3f0b:2", "webhook-timestamp": str(stamp)}
    assert verify_webhook(SECRET, {**rotated, "webhook-signature": f"v1,AAAA {good}"}, sent, stamp)
    assert reference().verify(sent, {**rotated, "webhook-signature": f"v1,AAAA {good}"})
    for bad in ("", "v2," + good[3:], good[3:], "v1,not base64!"):
        assert not verify_webhook(SECRET, {**rotated, "webhook-signature": bad}, sent, stamp)
    assert not verify_webhook(SECRET, {**rotated, "webhook-timestamp": "soon"}, sent, stamp)
    assert not verify_webhook(SECRET, {"webhook-signature": good}, sent, stamp)
