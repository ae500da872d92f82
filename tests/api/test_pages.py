"""Cursor pages: every item once, in order, while rows are inserted; links; refused cursors."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from creditbrain.infra.store import Store
from tests.api.conftest import TestClient, add_alert, key_header
from tests.api.test_problems import fields, problem_of

ADMIN = key_header("k-admin")


def walk(client: TestClient, first: str, headers: dict[str, str]) -> list[list[str]]:
    """The ids of each page, following ``next`` from ``first``; checks the Link header."""
    pages, url = [], first
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item.get("alert_id") or item.get("id") for item in body["items"]])
        url = body["next"]
        if url:
            assert response.headers["link"] == f'<{url}>; rel="next"'
        else:
            assert "link" not in response.headers
    return pages


def test_pages_hold_each_alert_once_in_order(client: TestClient, store: Store) -> None:
    # Ties on event_time are ordered by alert_id: the keyset must not lose them.
    ids = [add_alert(store, f"S{i}", minutes=i // 3) for i in range(7)]
    whole = [a["alert_id"] for a in client.get("/alerts", headers=ADMIN).json()["items"]]
    assert sorted(whole) == sorted(ids)
    pages = walk(client, "/alerts?limit=2", ADMIN)
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert [alert for page in pages for alert in page] == whole


def test_alerts_inserted_while_paging_neither_repeat_nor_push_items_out(
    client: TestClient, store: Store
) -> None:
    old = [add_alert(store, f"S{i}", minutes=i) for i in range(5)]
    first = client.get("/alerts", params={"limit": 2}, headers=ADMIN).json()
    for i in range(3):  # newer than everything: an offset would shift by three
        add_alert(store, f"N{i}", minutes=60 + i)
    add_alert(store, "M", minutes=2)  # lands among the pages still to come
    seen = [a["alert_id"] for a in first["items"]]
    seen += [alert for page in walk(client, first["next"], ADMIN) for alert in page]
    assert len(seen) == len(set(seen)) == 6
    assert [alert for alert in seen if alert in old] == old[::-1]


def test_the_link_keeps_the_filters_and_a_cursor_is_bound_to_them(
    client: TestClient, store: Store
) -> None:
    for i in range(3):
        add_alert(store, f"S{i}", level="red", minutes=i)
    add_alert(store, "O", level="orange")
    body = client.get("/alerts", params={"level": "red", "limit": 2}, headers=ADMIN).json()
    link = urlsplit(body["next"])
    query = parse_qs(link.query)
    assert (link.path, query["level"], query["limit"]) == ("/alerts", ["red"], ["2"])
    [cursor] = query["cursor"]
    other = client.get("/alerts", params={"level": "orange", "cursor": cursor}, headers=ADMIN)
    assert fields(problem_of(other, 422)) == [("query", "cursor")]


def forged(after: object) -> str:
    payload = json.dumps({"after": after, "of": "0"}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "%%%",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        forged([10**30, "a"]),
        forged(["a", 1]),
        forged([1]),
        "A" * 600,
    ],
)
def test_foreign_cursors_are_422(client: TestClient, cursor: str) -> None:
    response = client.get("/alerts", params={"cursor": cursor}, headers=ADMIN)
    assert fields(problem_of(response, 422)) == [("query", "cursor")]
    listed = client.get("/subscriptions", params={"cursor": cursor}, headers=ADMIN)
    assert fields(problem_of(listed, 422)) == [("query", "cursor")]


def test_a_forged_time_out_of_the_store_s_range_is_422(client: TestClient) -> None:
    body = client.get("/alerts", params={"limit": 1}, headers=ADMIN).json()
    assert body["next"] is None
    filters = {
        "level": None, "status": None, "sector": None, "district": None, "rule": None,
        "since": None,
    }  # fmt: skip
    from creditbrain.api.pages import encode_cursor

    for moment in (-(10**15), 10**15):
        cursor = encode_cursor([moment, "a"], filters)
        response = client.get("/alerts", params={"cursor": cursor}, headers=ADMIN)
        assert fields(problem_of(response, 422)) == [("query", "cursor")]


def test_the_grid_s_pages_fill_past_alerts_it_does_not_see(
    client: TestClient, store: Store
) -> None:
    routed = []
    for i in range(12):
        if i % 4 == 0:
            routed.append(add_alert(store, f"R{i}", minutes=i))
        else:  # penalty_burst at yellow is not routed to the grid
            add_alert(store, f"U{i}", rule="penalty_burst", level="yellow", minutes=i)
    pages = walk(client, "/alerts?limit=1", key_header("k-grid"))
    assert [alert for page in pages for alert in page] == routed[::-1]
    # A full page cannot tell whether routed alerts follow: the last page may be empty.
    assert [len(page) for page in pages] in ([1, 1, 1], [1, 1, 1, 0])


def test_subscriptions_come_in_pages(client: TestClient) -> None:
    made = [
        client.post("/subscriptions", json={"url": f"https://h.example/{i}"}, headers=ADMIN)
        .json()["id"]
        for i in range(5)
    ]  # fmt: skip
    pages = walk(client, "/subscriptions?limit=2", ADMIN)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(s for page in pages for s in page) == sorted(made)
    whole = client.get("/subscriptions", headers=ADMIN).json()["items"]
    assert [s for page in pages for s in page] == [s["id"] for s in whole]
