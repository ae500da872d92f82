"""Policies: published to credit.policies, audited with before and after, scoped."""

from __future__ import annotations

from urllib.parse import quote

import orjson
import pytest

from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.core.errors import BrokerError
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, TestClient, audit_rows, key_header
from tests.api.test_subjects import HOSTILE

ADMIN = key_header("k-admin")
FOOD = key_header("k-food")


def body(level: str = "red", reason: str = "steel sector stress") -> dict[str, object]:
    return {"override": {"rules": {"penalty_burst": {"level": level}}}, "reason": reason}


def test_a_change_is_published_audited_and_in_force(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    response = client.put("/policies/sector=food_drug", json=body(), headers=FOOD)
    assert response.status_code == 200, response.text
    [(topic, key, value)] = publisher.sent
    assert (topic, key) == ("credit.policies", b"sector=food_drug")
    applied = apply_policy_message(DEFAULT_POLICIES, key, value)
    assert applied.resolve("penalty_burst", "food_drug", "371102").level == "red"
    client.put("/policies/sector=food_drug", json=body("orange", "eased"), headers=FOOD)
    rows = audit_rows(store, "policy_change")
    assert [(r["actor"], r["subject_id"], r["purpose"]) for r in rows] == [
        ("food-supervisor", "sector=food_drug", "steel sector stress"),
        ("food-supervisor", "sector=food_drug", "eased"),
    ]
    second = orjson.loads(str(rows[1]["details"]))
    assert second["before"]["rules"]["penalty_burst"]["level"] == "red"
    assert second["after"]["rules"]["penalty_burst"]["level"] == "orange"
    shown = client.get("/policies", headers=key_header("k-regulator")).json()
    assert shown["overrides"]["sector=food_drug"]["rules"]["penalty_burst"]["level"] == "orange"
    assert shown["defaults"]["penalty_burst"]["level"] == "yellow"


def test_delete_sends_a_tombstone(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    client.put("/policies/sector=food_drug", json=body(), headers=FOOD)
    response = client.delete("/policies/sector=food_drug", params={"reason": "over"}, headers=FOOD)
    assert response.status_code == 200 and response.json()["after"] is None
    assert publisher.sent[-1] == ("credit.policies", b"sector=food_drug", None)
    assert client.get("/policies", headers=ADMIN).json()["overrides"] == {}
    assert client.delete("/policies/sector=food_drug", headers=FOOD).status_code == 422


def test_supervisors_change_and_see_only_their_scope(
    client: TestClient, publisher: FakePublisher
) -> None:
    both = quote("sector=food_drug|district=371102", safe="")
    assert client.put(f"/policies/{both}", json=body(), headers=FOOD).status_code == 200
    for scope in ("*", "district=371102", "sector=finance"):
        response = client.put(f"/policies/{quote(scope, safe='')}", json=body(), headers=FOOD)
        assert response.status_code == 403, scope
    client.put("/policies/sector=finance", json=body(), headers=ADMIN)
    client.put("/policies/%2A", json=body(), headers=ADMIN)
    assert len(publisher.sent) == 3
    seen = client.get("/policies", headers=FOOD).json()["overrides"]
    assert set(seen) == {"*", "sector=food_drug|district=371102"}


def test_invalid_policies_and_scopes_are_rejected(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    bad = {"override": {"rules": {"penalty_burst": {"thresholds": {"count": -1}}}}, "reason": "x"}
    assert client.put("/policies/sector=food_drug", json=bad, headers=ADMIN).status_code == 422
    unknown = {"override": {"rules": {"no_such_rule": {}}}, "reason": "x"}
    assert client.put("/policies/sector=food_drug", json=unknown, headers=ADMIN).status_code == 422
    no_reason = {"override": {"rules": {}}}
    assert (
        client.put("/policies/sector=food_drug", json=no_reason, headers=ADMIN).status_code == 422
    )
    for scope in ("sector=bakery", quote("district=371102|sector=food_drug", safe=""), "city"):
        assert client.put(f"/policies/{scope}", json=body(), headers=ADMIN).status_code == 422
    assert publisher.sent == [] and audit_rows(store, "policy_change") == []


def test_a_broker_failure_changes_nothing(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    publisher.fail = BrokerError("broker down")
    response = client.put("/policies/sector=food_drug", json=body(), headers=ADMIN)
    assert response.status_code == 503
    # Audited before it was sent, then marked failed: it is in no version and not in force.
    [tried] = audit_rows(store, "policy_change")
    [failed] = audit_rows(store, "policy_change_failed")
    assert orjson.loads(str(failed["details"]))["version"] == 1
    assert orjson.loads(str(tried["details"]))["version"] == 1
    assert client.get("/policies", headers=ADMIN).json()["overrides"] == {}
    assert client.get("/policies/history", headers=ADMIN).json()["items"] == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_scopes_and_reasons_are_data(
    client: TestClient, store: Store, publisher: FakePublisher, hostile: str
) -> None:
    response = client.put(f"/policies/{quote(hostile, safe='')}", json=body(), headers=ADMIN)
    assert response.status_code in (404, 422)
    response = client.put("/policies/sector=food_drug", json=body(reason=hostile), headers=ADMIN)
    assert response.status_code == 200
    assert audit_rows(store, "policy_change")[-1]["purpose"] == hostile


def test_the_policy_set_answers_304_while_its_etag_holds(client: TestClient) -> None:
    first = client.get("/policies", headers=ADMIN)
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith('"')
    assert first.headers["cache-control"] == "private, no-cache"
    for sent in (tag, f"W/{tag}", f'"other", {tag}', "*"):
        unchanged = client.get("/policies", headers=ADMIN | {"If-None-Match": sent})
        assert (unchanged.status_code, unchanged.content) == (304, b"")
        assert unchanged.headers["etag"] == tag
    assert client.get("/policies", headers=ADMIN | {"If-None-Match": '"x"'}).status_code == 200
    client.put("/policies/sector=food_drug", json=body(), headers=FOOD)
    changed = client.get("/policies", headers=ADMIN | {"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert changed.json()["overrides"]["sector=food_drug"]["rules"]["penalty_burst"]["level"] == (
        "red"
    )


def test_each_caller_s_view_has_its_own_etag(client: TestClient) -> None:
    client.put("/policies/sector=finance", json=body(), headers=ADMIN)
    admin = client.get("/policies", headers=ADMIN)
    food = client.get("/policies", headers=FOOD | {"If-None-Match": admin.headers["etag"]})
    assert food.status_code == 200 and food.json()["overrides"] == {}
    assert food.headers["etag"] != admin.headers["etag"]
