"""The API hosted as a ``mode`` service in a running event loop, and replay through it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from creditbrain.api import create_app
from creditbrain.api.server import ApiService, build_api_service
from creditbrain.core.errors import ConfigurationError
from creditbrain.infra.store import Store
from creditbrain.settings import Settings, WebhookSettings
from tests.api.conftest import FakePublisher, key_header, settings_for_tests


async def test_the_service_serves_in_the_hosts_loop(store: Store) -> None:
    # The subscriber below is on loopback, which webhooks may reach only when allowed.
    local = WebhookSettings(allow_targets=("127.0.0.0/8",))
    settings = settings_for_tests().model_copy(update={"webhooks": local})
    app = create_app(settings, lambda: store, FakePublisher())
    service = ApiService(app, "127.0.0.1", 0)
    await service.start()
    try:
        for _ in range(100):
            if service.port:
                break
            await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{service.port}"
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/health")).status_code == 200
            created = await client.post(
                "/subscriptions", json={"url": "http://127.0.0.1:9/down"},
                headers=key_header("k-admin"),
            )  # fmt: skip
            replay = await client.post(
                f"/subscriptions/{created.json()['id']}/replay", headers=key_header("k-admin")
            )
            assert replay.json() == {"delivered": 0, "remaining": 0}
    finally:
        await service.stop()


def test_the_public_demo_keys_stay_on_loopback() -> None:
    demo = Settings(api={"demo_keys": True})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="demo API keys are public"):
        build_api_service(demo, None, host="0.0.0.0")  # noqa: S104 - the point of the test
    assert build_api_service(demo, None, host="127.0.0.1", port=0).port is None
