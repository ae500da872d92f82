"""Subscriptions (secrets never shown), health, metrics, and the committed OpenAPI schema."""

from __future__ import annotations

from collections.abc import Callable

from creditbrain.api.openapi import COMMITTED, openapi_document, render
from creditbrain.core.errors import StoreError
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, TestClient, audit_rows, key_header, settings_for_tests

SECRET = "a-very-secret-signing-key"  # noqa: S105 - a test fixture's key


def test_subscriptions_are_owned_and_their_secret_never_shown(
    client: TestClient, store: Store
) -> None:
    regulator, grid = key_header("k-regulator"), key_header("k-grid")
    mine = client.post(
        "/subscriptions",
        json={"url": "https://reg.example/hook", "secret": SECRET, "levels": ["red"]},
        headers=regulator,
    )
    assert mine.status_code == 201 and mine.json()["secret"] is None
    generated = client.post("/subscriptions", json={"url": "http://grid.local/in"}, headers=grid)
    assert generated.json()["feed"] == "grid" and len(generated.json()["secret"]) >= 32
    listed = client.get("/subscriptions", headers=regulator)
    assert [s["id"] for s in listed.json()["items"]] == [mine.json()["id"]]
    assert SECRET not in listed.text
    assert len(client.get("/subscriptions", headers=key_header("k-admin")).json()["items"]) == 2
    assert SECRET not in str(store.query_rows("SELECT details FROM audit"))
    other = client.delete(f"/subscriptions/{mine.json()['id']}", headers=grid)
    assert other.status_code == 404
    assert (
        client.delete(f"/subscriptions/{mine.json()['id']}", headers=regulator).status_code == 204
    )
    assert client.get("/subscriptions", headers=regulator).json()["items"] == []
    assert len(audit_rows(store, "subscription_create")) == 2


def test_bad_subscriptions_are_rejected(client: TestClient) -> None:
    admin = key_header("k-admin")
    for body in (
        {"url": "ftp://x/y"},
        {"url": "http://x/y", "secret": "short"},
        {"url": "http://x/y", "levels": ["purple"]},
    ):
        assert client.post("/subscriptions", json=body, headers=admin).status_code == 422


def test_metrics_join_the_api_and_host_counters(store: Store, publisher: FakePublisher) -> None:
    from creditbrain.api import create_app
    from tests.api.conftest import TestClient as Client

    app = create_app(
        settings_for_tests(), lambda: store, publisher,
        stats=lambda: {"events_applied_total": 42, "sink_lag": 3.5},
        sink_lag=lambda: 3.5,
    )  # fmt: skip
    with Client(app) as client:
        text = client.get("/metrics", headers=key_header("k-leadership")).text
        assert "# TYPE creditbrain_events_applied_total counter\n" in text
        assert "creditbrain_events_applied_total 42.0\n" in text
        assert "creditbrain_sink_lag 3.5\n" in text
        assert "creditbrain_credit_checks_total 0.0\n" in text
        # The request just answered is timed by route template and status.
        text = client.get("/metrics", headers=key_header("k-leadership")).text
        timed = 'creditbrain_http_request_seconds_count{method="GET",route="/metrics",status="200"}'
        assert f"{timed} 1.0\n" in text
        assert client.get("/health").json() == {"status": "ok", "store": "ok", "sink_lag": 3.5}


def test_health_is_503_without_a_store(
    make_client: Callable[..., TestClient], publisher: FakePublisher
) -> None:
    from creditbrain.api import create_app
    from tests.api.conftest import TestClient as Client

    def broken() -> Store:
        raise StoreError("cannot reach ClickHouse")

    with Client(create_app(settings_for_tests(), broken, publisher)) as client:
        assert client.get("/health").status_code == 503
        response = client.get("/alerts", headers=key_header("k-admin"))
        assert response.status_code == 503 and "ClickHouse" not in response.text


def test_the_committed_openapi_schema_is_current() -> None:
    assert COMMITTED.read_bytes() == render(openapi_document()), (
        "the API changed: run `.venv/bin/python -m creditbrain.api.openapi` and commit "
        "docs/openapi.json"
    )
