"""The API's /metrics through prometheus-client: request latency and the dispatcher's counters."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from creditbrain.api import create_app
from creditbrain.api.metrics import watch_dispatcher
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, TestClient, key_header, settings_for_tests
from tests.infra.metrics_scrape import parse


def test_webhook_counters_and_request_latency_by_route(
    store: Store, publisher: FakePublisher
) -> None:
    app = create_app(settings_for_tests(), lambda: store, publisher)
    dispatcher: Any = SimpleNamespace(delivered=9, retries=4, dead_lettered=1, replayed=2)
    watch_dispatcher(app, dispatcher)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/no-such-route").status_code == 404
        text = client.get("/metrics", headers=key_header("k-admin")).text
    samples = parse(text)
    assert samples[("creditbrain_webhook_deliveries_total", ())] == 9
    assert samples[("creditbrain_webhook_retries_total", ())] == 4
    assert samples[("creditbrain_webhook_dead_letters_total", ())] == 1
    assert samples[("creditbrain_webhook_replayed_total", ())] == 2
    health = (("method", "GET"), ("route", "/health"), ("status", "200"))
    assert samples[("creditbrain_http_request_seconds_count", health)] == 1
    assert samples[("creditbrain_http_request_seconds_sum", health)] > 0
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert samples[("creditbrain_http_request_seconds_count", unmatched)] == 1
    assert samples[("creditbrain_credit_checks_total", ())] == 0
