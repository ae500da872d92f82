"""A walk over the OpenAPI document: every route, called as the document describes it, answers
only statuses the document lists for it, every error as a problem, never a 500.

Each operation is called with no key, with a key of a role it does not allow (``x-roles``),
with each of its parameters made invalid in turn (from the parameter's own schema), with a
body that is not an acceptable JSON value, and once with an admin key. One app, one store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from creditbrain.api import create_app
from creditbrain.infra.store import Store, connect, migrate
from tests.api.conftest import KEYS, FakePublisher, TestClient, add_alert, settings_for_tests
from tests.fixtures.store import STORE_KINDS, drop_database, dsn_of

PROBLEM = "application/problem+json"
ADMIN = {"X-API-Key": "k-admin"}
#: A key per role, for calls by a role an operation does not allow.
BY_ROLE = {role: key for key, (_, role, _, _) in reversed(KEYS.items())}
BODIES = (b'{"url": NaN, "note": Infinity}', b"[1e400]", b"[]", b"{", b'"x"')


@pytest.fixture(scope="module", params=STORE_KINDS)
def walk_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """One store for the whole walk, on each DSN kind in turn (the API reads over HTTP too)."""
    with connect(dsn_of(request.param, request), f"t_{uuid.uuid4().hex}") as store:
        migrate(store)
        add_alert(store, "S1")
        try:
            yield store
        finally:
            drop_database(store)


@pytest.fixture(scope="module")
def client(walk_store: Store) -> Iterator[TestClient]:
    app = create_app(settings_for_tests(), lambda: walk_store, FakePublisher())
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def schema_of(parameter: dict[str, Any]) -> dict[str, Any]:
    """The parameter's schema without its ``null`` alternative."""
    schema: dict[str, Any] = parameter["schema"]
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    return options[0] if options else schema


def bad_values(parameter: dict[str, Any]) -> list[str]:
    """Values the parameter's schema refuses (none if it refuses nothing a URL can carry)."""
    schema = schema_of(parameter)
    found = []
    if "enum" in schema or "const" in schema:
        found.append("not-one-of-them")
    if schema.get("format") == "date-time":
        found += ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0500-01-01T00:00:00Z"]
    if schema.get("type") == "integer":
        found.append("1.5")
        found += [str(schema[k] + d) for k, d in (("minimum", -1), ("maximum", 1)) if k in schema]
    if "maxLength" in schema:
        found.append("x" * (schema["maxLength"] + 1))
    if schema.get("minLength", 0) > 0 and parameter["in"] != "path":
        found.append("")
    return found


def fill(path: str, operation: dict[str, Any], **values: str) -> tuple[str, dict[str, str]]:
    """The URL and the query/header values of a call: ``values`` where given, else valid."""
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        name, where = parameter["name"], parameter["in"]
        value = values.get(name)
        if value is None and not parameter.get("required"):
            continue
        value = "x" if value is None else value
        if where == "path":
            path = path.replace("{" + name + "}", value)
        elif where == "query":
            query[name] = value
        elif where == "header":
            headers[name] = value
    return path + ("?" + str(httpx.QueryParams(query)) if query else ""), headers


def check(response: httpx.Response, operation: dict[str, Any], *expected: int) -> None:
    """The status is one the document lists (and one of ``expected``); an error is a problem."""
    status = response.status_code
    where = f"{response.request.method} {response.request.url.path}: {status} {response.text}"
    assert status != 500, where
    assert str(status) in operation["responses"], where
    if expected:
        assert status in expected, where
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM, where
        assert PROBLEM in operation["responses"][str(status)]["content"], where
        body = response.json()
        assert body["status"] == status and {"type", "title", "detail", "instance"} <= set(body)


def test_the_walk_covers_every_route(document: dict[str, Any]) -> None:
    called = {(method, path) for method, path, _ in operations(document)}
    assert len(called) >= 12
    assert ("GET", "/alerts") in called and ("PUT", "/policies/{scope}") in called


def test_without_a_key(client: TestClient, document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        url, headers = fill(path, operation)
        for key in ({}, {"X-API-Key": "wrong"}):
            response = client.request(method, url, headers=headers | key)
            check(response, operation, *((401,) if "x-roles" in operation else ()))


def test_with_a_role_the_route_does_not_allow(client: TestClient, document: dict[str, Any]) -> None:
    refused = 0
    for method, path, operation in operations(document):
        url, headers = fill(path, operation)
        for role in set(BY_ROLE) - set(operation.get("x-roles", BY_ROLE)):
            key = {"X-API-Key": BY_ROLE[role]}
            check(client.request(method, url, headers=headers | key), operation, 403)
            refused += 1
    assert refused > 20


def test_with_each_parameter_invalid(client: TestClient, document: dict[str, Any]) -> None:
    tried = set()
    for method, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            for value in bad_values(parameter):
                url, headers = fill(path, operation, **{parameter["name"]: value})
                response = client.request(method, url, headers=headers | ADMIN)
                check(response, operation, 422)
                errors = [(e["in"], e["field"]) for e in response.json()["errors"]]
                assert (parameter["in"], parameter["name"]) in errors, response.text
                tried.add(parameter["name"])
    assert {"since", "limit", "cursor", "subject_id", "scope", "level", "status"} <= tried


def test_with_bodies_that_are_not_acceptable(client: TestClient, document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            continue
        url, headers = fill(path, operation)
        for body in BODIES:
            headers |= ADMIN | {"content-type": "application/json"}
            response = client.request(method, url, content=body, headers=headers)
            check(response, operation, 422)
            assert response.json()["errors"][0]["in"] == "body"


def test_as_admin(client: TestClient, document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        if "requestBody" not in operation:
            url, headers = fill(path, operation)
            check(client.request(method, url, headers=headers | ADMIN), operation)
