"""Errors as RFC 9457 problems: one shape for every status, no input echoed, no 500 for input."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditbrain.api import create_app
from creditbrain.api.times import EARLIEST, LATEST
from creditbrain.core.errors import StoreError
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, TestClient, add_alert, key_header, settings_for_tests

ADMIN = key_header("k-admin")
PROBLEM = "application/problem+json"
RESIDENT_ID = "11010519491231002X"


def problem_of(response: httpx.Response, status: int) -> dict[str, object]:
    """The problem in ``response``, checked for the members RFC 9457 names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert isinstance(body, dict)
    assert body["type"] == "about:blank" and body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert str(body["instance"]).startswith("urn:uuid:")
    return body


def fields(body: dict[str, object]) -> list[tuple[str, str]]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return [(error["in"], error["field"]) for error in errors]


def test_http_errors_are_problems(client: TestClient) -> None:
    assert problem_of(client.get("/alerts"), 401)["title"] == "Unauthorized"
    assert problem_of(client.get("/alerts?limit=0", headers=ADMIN), 422)["title"] == (
        "Unprocessable Content"
    )
    assert client.get("/alerts").headers["www-authenticate"] == "Bearer"
    forbidden = problem_of(client.get("/alerts", headers=key_header("k-hall")), 403)
    assert forbidden["detail"] == "role service_hall may not do this"
    missing = problem_of(client.post("/alerts/unknown/ack", json={}, headers=ADMIN), 404)
    assert missing["detail"] == "no such alert"
    assert problem_of(client.get("/nowhere", headers=ADMIN), 404)["title"] == "Not Found"
    wrong_method = client.patch("/alerts", headers=ADMIN)
    assert problem_of(wrong_method, 405) and wrong_method.headers["allow"] == "GET"


def test_each_problem_is_its_own_instance(client: TestClient) -> None:
    first, second = (problem_of(client.get("/alerts"), 401) for _ in range(2))
    assert first["instance"] != second["instance"]


def test_validation_problems_list_the_fields_without_their_values(client: TestClient) -> None:
    response = client.get(
        "/alerts", params={"level": "purple", "limit": "0", "sector": RESIDENT_ID * 4},
        headers=ADMIN,
    )  # fmt: skip
    body = problem_of(response, 422)
    assert sorted(fields(body)) == [("query", "level"), ("query", "limit"), ("query", "sector")]
    assert RESIDENT_ID not in response.text and "purple" not in response.text
    posted = client.post(
        "/subscriptions", json={"url": f"ftp://{RESIDENT_ID}", "levels": ["red", 7]},
        headers=ADMIN,
    )  # fmt: skip
    assert fields(problem_of(posted, 422)) == [("body", "/url"), ("body", "/levels/1")]
    assert RESIDENT_ID not in posted.text


def test_a_body_that_is_not_json_is_a_problem(client: TestClient) -> None:
    for content in (b"{", b"\xff\xfe", b"[" * 5000, b'{"url": "\\ud800"}'):
        response = client.post(
            "/subscriptions", content=content,
            headers=ADMIN | {"content-type": "application/json"},
        )  # fmt: skip
        assert fields(problem_of(response, 422))[0][0] == "body"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_non_finite_numbers_are_422_not_500(
    client: TestClient, publisher: FakePublisher, number: str
) -> None:
    json = {"content-type": "application/json"}
    threshold = (
        '{"override": {"rules": {"penalty_burst": {"thresholds": {"count": %s}}}}, "reason": "r"}'
    )
    bodies = {
        "/subscriptions": '{"url": %s}',  # fails validation too: once a 500 in the 422 handler
        "/alerts/x/ack": '{"note": %s}',
    }
    for path, template in bodies.items():
        problem_of(client.post(path, content=template % number, headers=ADMIN | json), 422)
    put = client.put("/policies/*", content=threshold % number, headers=ADMIN | json)
    problem_of(put, 422)
    assert publisher.sent == []


@pytest.mark.parametrize(
    "since",
    [
        "0001-01-01T00:00:00+01:00",  # OverflowError converting to UTC
        "9999-12-31T23:59:59-01:00",  # OverflowError the other way
        "0500-01-01T00:00:00Z",  # the store refused it: a false 503
        "1899-12-31T23:59:59Z",
        "2300-01-01T00:00:00Z",
        "2026-03-05T10:00:00",  # no zone
        "yesterday",
    ],
)
def test_times_outside_the_store_are_422(client: TestClient, since: str) -> None:
    response = client.get(f"/alerts?since={quote(since)}", headers=ADMIN)
    assert fields(problem_of(response, 422)) == [("query", "since")]


# ISO 8601 offsets are whole minutes, within a day.
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moment=st.datetimes(timezones=st.builds(timezone, offsets)))
def test_any_time_is_an_answer_or_a_422(client: TestClient, moment: datetime) -> None:
    response = client.get("/alerts", params={"since": moment.isoformat()}, headers=ADMIN)
    try:
        inside = EARLIEST <= moment.astimezone(UTC) <= LATEST
    except OverflowError:
        inside = False
    if inside:
        assert response.status_code == 200, response.text
    else:
        assert fields(problem_of(response, 422)) == [("query", "since")]


def test_the_store_s_own_range_is_accepted(client: TestClient, store: Store) -> None:
    alert = add_alert(store, "S1")
    for since, found in (("1900-01-01T00:00:00Z", [alert]), ("2299-12-31T23:59:59Z", [])):
        response = client.get("/alerts", params={"since": since}, headers=ADMIN)
        assert [a["alert_id"] for a in response.json()["items"]] == found


def test_an_unavailable_store_is_a_503_problem_that_names_no_address(
    publisher: FakePublisher,
) -> None:
    def broken() -> Store:
        raise StoreError("cannot reach ClickHouse at 10.1.2.3:8123")

    with TestClient(create_app(settings_for_tests(), broken, publisher)) as client:
        for response in (client.get("/alerts", headers=ADMIN), client.get("/health")):
            body = problem_of(response, 503)
            assert response.headers["retry-after"] == "5" and "10.1.2.3" not in response.text
        assert body["store"] == "unreachable"


def test_a_bug_is_a_500_problem_logged_with_its_instance(
    publisher: FakePublisher, caplog: pytest.LogCaptureFixture
) -> None:
    def buggy() -> Store:
        raise RuntimeError("a defect, not an outage")

    app = create_app(settings_for_tests(), buggy, publisher)
    with TestClient(app, raise_server_exceptions=False) as client:
        with caplog.at_level(logging.ERROR, logger="creditbrain.api.problems"):
            response = client.get(f"/subjects/{RESIDENT_ID}?purpose=p", headers=ADMIN)
    body = problem_of(response, 500)
    assert "defect" not in response.text
    [record] = caplog.records
    assert str(body["instance"]) in record.getMessage()
    assert "/subjects/{subject_id}" in record.getMessage()
    assert RESIDENT_ID not in record.getMessage() and record.exc_info is not None


def test_a_route_s_own_checks_list_their_field(client: TestClient) -> None:
    override = {"override": {"rules": {}}}
    blank = client.put("/policies/*", json=override | {"reason": " "}, headers=ADMIN)
    assert fields(problem_of(blank, 422)) == [("body", "/reason")]
    scope = client.put("/policies/nonsense", json=override | {"reason": "r"}, headers=ADMIN)
    assert fields(problem_of(scope, 422)) == [("path", "scope")]
    deleted = client.delete("/policies/*", params={"reason": " "}, headers=ADMIN)
    assert fields(problem_of(deleted, 422)) == [("query", "reason")]
