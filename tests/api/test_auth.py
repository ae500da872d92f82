"""Every route needs a valid key, and each role reaches only its routes."""

from __future__ import annotations

import pytest

from tests.api.conftest import TestClient, key_header

POLICY_BODY = {"override": {"rules": {"wage_arrears": {"enabled": False}}}, "reason": "test"}
#: (method, path, json body, roles allowed)
ROUTES = [
    ("GET", "/subjects/91350100M000100Y43?purpose=loan", None,
     {"admin", "regulator", "service_hall", "supervisor"}),
    ("GET", "/alerts", None, {"admin", "regulator", "supervisor", "leadership", "grid"}),
    ("POST", "/alerts/nope/ack", {"note": ""}, {"admin", "regulator", "supervisor", "grid"}),
    ("GET", "/policies", None, {"admin", "regulator", "supervisor", "leadership"}),
    ("PUT", "/policies/sector=food_drug", POLICY_BODY, {"admin", "supervisor"}),
    ("DELETE", "/policies/sector=food_drug?reason=x", None, {"admin", "supervisor"}),
    ("GET", "/subscriptions", None, {"admin", "regulator", "grid"}),
    ("POST", "/subscriptions", {"url": "http://127.0.0.1:9/x"}, {"admin", "regulator", "grid"}),
    ("DELETE", "/subscriptions/nope", None, {"admin", "regulator", "grid"}),
    ("POST", "/subscriptions/nope/replay", None, {"admin", "regulator", "grid"}),
    ("GET", "/metrics", None, {"admin", "leadership", "regulator"}),
]  # fmt: skip
ROLE_KEYS = {
    "admin": "k-admin",
    "regulator": "k-regulator",
    "supervisor": "k-food",
    "leadership": "k-leadership",
    "grid": "k-grid",
    "service_hall": "k-hall",
}


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_every_route_needs_a_valid_key(
    client: TestClient, method: str, path: str, body: object, allowed: set[str]
) -> None:
    for headers in ({}, key_header("wrong"), {"Authorization": "Bearer wrong"}):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
def test_each_role_reaches_only_its_routes(
    client: TestClient, method: str, path: str, body: object, allowed: set[str]
) -> None:
    for role, key in ROLE_KEYS.items():
        response = client.request(method, path, json=body, headers=key_header(key))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)


def test_a_bearer_key_works_too(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer k-admin"})
    assert response.status_code == 200


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["store"] == "ok"
