"""``/subjects/{id}/snoozes``: made, audited, published, listed, lifted; scope and roles."""

from __future__ import annotations

from datetime import datetime

import orjson
from fastapi.testclient import TestClient

from creditbrain.alerts.snooze import Snooze
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, add_subject, audit_rows, key_header

UNTIL = "2026-04-01T00:00:00+08:00"


def test_a_regulator_snoozes_one_rule_and_lifts_it(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    subject = add_subject(store)
    body = {"rule": "wage_arrears", "until": UNTIL, "reason": "settlement under way"}
    made = client.post(f"/subjects/{subject}/snoozes", json=body, headers=key_header("k-regulator"))
    assert made.status_code == 201, made.text
    snooze = made.json()
    assert (snooze["rule"], snooze["by"], snooze["subject_id"]) == (
        "wage_arrears", "regulator-1", subject,
    )  # fmt: skip
    [(topic, key, value)] = publisher.sent
    assert topic.endswith(".snoozes") and key == snooze["id"].encode() and value is not None
    sent = Snooze.from_json(snooze["id"], value)
    assert sent.until_ms == to_epoch_ms(datetime.fromisoformat(UNTIL))
    [row] = audit_rows(store, "snooze")
    assert row["subject_id"] == subject and row["purpose"] == "settlement under way"
    assert orjson.loads(str(row["details"]))["id"] == snooze["id"]

    listed = client.get(f"/subjects/{subject}/snoozes", headers=key_header("k-admin")).json()
    assert [s["id"] for s in listed] == [snooze["id"]]
    lifted = client.delete(
        f"/subjects/{subject}/snoozes/{snooze['id']}", headers=key_header("k-regulator")
    )
    assert lifted.status_code == 204
    assert publisher.sent[-1] == (topic, key, None)  # a tombstone
    assert client.get(f"/subjects/{subject}/snoozes", headers=key_header("k-admin")).json() == []
    again = client.delete(
        f"/subjects/{subject}/snoozes/{snooze['id']}", headers=key_header("k-regulator")
    )
    assert again.status_code == 404


def test_scope_roles_and_a_failed_publish(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    food = add_subject(store, sector="food_drug")
    build = add_subject(store, sector="construction", district="371103")
    body = {"until": UNTIL, "reason": "r"}
    ok = client.post(f"/subjects/{food}/snoozes", json=body, headers=key_header("k-food"))
    assert ok.status_code == 201 and ok.json()["rule"] is None  # every rule
    out = client.post(f"/subjects/{build}/snoozes", json=body, headers=key_header("k-food"))
    assert out.status_code == 403
    hall = client.post(f"/subjects/{food}/snoozes", json=body, headers=key_header("k-hall"))
    assert hall.status_code == 403
    assert client.post(f"/subjects/{food}/snoozes", json=body).status_code == 401
    unknown = client.post(
        "/subjects/91350100M000100Y43/snoozes", json=body, headers=key_header("k-admin")
    )
    assert unknown.status_code == 404
    bad = client.post(
        f"/subjects/{food}/snoozes", json={**body, "rule": "nope"}, headers=key_header("k-admin")
    )
    assert bad.status_code == 422

    publisher.fail = OSError("broker down")
    failed = client.post(f"/subjects/{food}/snoozes", json=body, headers=key_header("k-admin"))
    assert failed.status_code == 503
    assert failed.headers["content-type"].startswith("application/problem+json")
    listed = client.get(f"/subjects/{food}/snoozes", headers=key_header("k-admin")).json()
    assert [s["id"] for s in listed] == [ok.json()["id"]]  # the unpublished one is not listed
