"""Watch lists: made, paged like /alerts, and a webhook subscription limited to one
receives exactly the warnings of its subjects."""

from __future__ import annotations

import random

import orjson
from fastapi.testclient import TestClient

from creditbrain.alerts.delivery import matching
from creditbrain.api.webhooks import load_subscriptions
from creditbrain.infra.store import Store
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import WARNINGS
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor
from tests.api.conftest import PSEUDONYM_KEY, add_alert, add_subject, audit_rows, key_header
from tests.strategies import DAY, make_event


def test_a_watch_list_pages_the_warnings_of_its_subjects(client: TestClient, store: Store) -> None:
    watched = [add_subject(store) for _ in range(3)]
    other = add_subject(store)
    alerts = {add_alert(store, s, minutes=i) for i, s in enumerate(watched)}
    add_alert(store, other)
    made = client.post(
        "/watchlists",
        json={"name": "suppliers", "subject_ids": [*watched, watched[0]]},
        headers=key_header("k-regulator"),
    )
    assert made.status_code == 201, made.text
    listed = made.json()
    assert sorted(listed["subject_ids"]) == sorted(watched)  # duplicates collapse
    assert audit_rows(store, "watchlist_create")[0]["subject_id"] == listed["id"]

    url = f"/watchlists/{listed['id']}/warnings?limit=2"
    seen: list[str] = []
    while url:
        page = client.get(url, headers=key_header("k-regulator"))
        assert page.status_code == 200, page.text
        seen += [a["alert_id"] for a in page.json()["items"]]
        url = page.json()["next"]
    assert len(seen) == 3 and set(seen) == alerts
    # Another key's watch list is not there for it; an admin sees it.
    assert (
        client.get(f"/watchlists/{listed['id']}", headers=key_header("k-grid")).status_code == 404
    )
    assert (
        client.get(f"/watchlists/{listed['id']}", headers=key_header("k-admin")).status_code == 200
    )
    too_many = {"name": "x", "subject_ids": [f"s{i}" for i in range(10_001)]}
    assert (
        client.post("/watchlists", json=too_many, headers=key_header("k-admin")).status_code == 422
    )
    assert client.post("/watchlists", json=too_many).status_code == 401


def test_a_watch_list_subscriber_receives_exactly_the_warnings_of_its_subjects(
    client: TestClient, store: Store
) -> None:
    rng = random.Random(7)
    subjects = [generate_credit_code(rng) for _ in range(4)]
    events = [
        make_event(
            "wage_arrears", {"amount_cny": 1, "workers_affected": n}, at=d * DAY, subject_id=s
        )
        for s in subjects
        for d, n in ((1, 3), (2, 30))
    ]
    processor = Processor({}, ParseContext(pseudonym_key=PSEUDONYM_KEY.encode()), DEFAULT_SCORECARD)
    outbound = processor.process(
        [Inbound("in", 0, i, None, event_to_json(e)) for i, e in enumerate(events)]
    ).outbound
    sent = [orjson.loads(m.value) for m in outbound if m.topic == WARNINGS]
    assert {doc["subject"] for doc in sent} == set(subjects)

    watched = subjects[:2]
    made = client.post(
        "/watchlists",
        json={"name": "two", "subject_ids": watched},
        headers=key_header("k-regulator"),
    ).json()
    body = {"url": "http://receiver.example/hook", "watchlist": made["id"]}
    sub = client.post("/subscriptions", json=body, headers=key_header("k-regulator"))
    assert sub.status_code == 201, sub.text
    assert sub.json()["subjects"] == 2
    plain = client.post(
        "/subscriptions", json={"url": "http://all.example/hook"}, headers=key_header("k-regulator")
    )
    by_id = {s.subscription.id: s.subscription for s in load_subscriptions(store)}
    mine, everyone = by_id[sub.json()["id"]], by_id[plain.json()["id"]]

    received = [doc for doc in sent if mine in matching([mine, everyone], "all", doc)]
    assert received and received == [doc for doc in sent if doc["subject"] in watched]
    assert all(everyone in matching([mine, everyone], "all", doc) for doc in sent)
    missing = {"url": "http://x.example/hook", "watchlist": "nope"}
    assert (
        client.post("/subscriptions", json=missing, headers=key_header("k-regulator")).status_code
        == 404
    )
