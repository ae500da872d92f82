"""Webhook targets: no loopback, link-local, private, reserved or metadata address, at
subscription time and again at every delivery, on the address that was checked."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from creditbrain.alerts.delivery import RetryPolicy, Subscription
from creditbrain.api.targets import TargetPolicy, TargetRefused, webhook_client
from creditbrain.api.webhooks import Deliverer
from creditbrain.settings import Settings
from tests.alerts.test_delivery import Receiver
from tests.api.conftest import TestClient, key_header

REGULATOR = key_header("k-regulator")

REFUSED = [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata (shared space)
    "http://127.0.0.1:8600/metrics",
    "http://localhost:8600/metrics",
    "http://[::1]:22/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:a9fe:a9fe]/",  # the same as 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of the metadata address
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6 (unique local)
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0177.0.0.1/",  # octal
    "http://0x7f.1/",  # hex, short form
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://0.0.0.0:8600/",
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://192.0.2.1/",  # documentation
    "https://user@127.0.0.1/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_subscription_to_a_non_public_address_is_refused(client: TestClient, url: str) -> None:
    answer = client.post("/subscriptions", json={"url": url}, headers=REGULATOR)
    assert answer.status_code == 422, answer.text
    assert "webhook target refused" in answer.text
    assert client.get("/subscriptions", headers=REGULATOR).json()["items"] == []


def test_an_allowed_network_may_be_subscribed(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    app_settings: Settings = client.app.state.context.settings  # type: ignore[attr-defined]
    hooks = app_settings.webhooks.model_copy(update={"allow_targets": ("127.0.0.0/8",)})
    client.app.state.context.settings = app_settings.model_copy(update={"webhooks": hooks})  # type: ignore[attr-defined]
    url = "http://127.0.0.1:9/in"
    assert client.post("/subscriptions", json={"url": url}, headers=REGULATOR).status_code == 201
    refused = client.post("/subscriptions", json={"url": "http://10.0.0.1/"}, headers=REGULATOR)
    assert refused.status_code == 422


def test_allow_targets_must_be_networks() -> None:
    with pytest.raises(ValueError, match="not an address or a CIDR network"):
        Settings(webhooks={"allow_targets": ["internal.example"]})  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(_free_port())
    receiver.start()
    yield receiver
    receiver.stop()


def flipping(*answers: list[str]) -> Callable[[str, int], object]:
    """A resolver giving each answer in turn, then the last one: a rebinding name."""
    given = list(answers)

    async def resolve(host: str, port: int) -> list[str]:
        return given.pop(0) if len(given) > 1 else given[0]

    return resolve


async def test_a_name_rebound_to_loopback_after_subscribing_gets_nothing(
    receiver: Receiver,
) -> None:
    policy = TargetPolicy(resolve=flipping(["93.184.216.34"], ["127.0.0.1"]))  # type: ignore[arg-type]
    url = f"http://hooks.test:{receiver.port}/hook"
    await policy.check_url(url)  # public when subscribed
    sub = Subscription("s1", url, "secret-secret-secret")
    async with webhook_client(5.0, policy) as client:
        deliverer = Deliverer(client, RetryPolicy(attempts=3, base_delay=0.0), targets=policy)
        delivered, attempts, error = await deliverer.deliver(sub, b'{"id": "a:1"}')
    assert (delivered, attempts) == (False, 1)  # refused at once, not retried
    assert error.startswith("target refused: hooks.test reaches a loopback address")
    assert receiver.received == []


async def test_the_connection_goes_to_the_address_checked(receiver: Receiver) -> None:
    # hooks.test resolves nowhere but through the policy: reaching the receiver proves
    # that the client connects to the address the policy checked and allowed.
    allowed = TargetPolicy(("127.0.0.0/8",), resolve=flipping(["127.0.0.1"]))  # type: ignore[arg-type]
    url = f"http://hooks.test:{receiver.port}/hook"
    async with webhook_client(5.0, allowed) as client:
        assert (await client.post(url, content=b"{}")).status_code == 204
    # Without the allowance the client itself refuses, whoever calls it.
    refusing = TargetPolicy(resolve=flipping(["127.0.0.1"]))  # type: ignore[arg-type]
    async with webhook_client(5.0, refusing) as client:
        with pytest.raises(httpx.ConnectError, match="webhook target refused"):
            await client.post(url, content=b"{}")
    assert len(receiver.received) == 1


async def test_one_refused_address_refuses_the_name() -> None:
    mixed = TargetPolicy(resolve=flipping(["93.184.216.34", "10.0.0.7"]))  # type: ignore[arg-type]
    with pytest.raises(TargetRefused, match="private"):
        await mixed.check_url("https://hooks.test/in")
