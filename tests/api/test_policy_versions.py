"""Policy versions: each change is its scope's next version; compare-and-set, history, rollback."""

from __future__ import annotations

from urllib.parse import quote

import orjson

from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.infra.store import Store
from tests.api.conftest import FakePublisher, TestClient, audit_rows, key_header

ADMIN = key_header("k-admin")
FOOD = key_header("k-food")
SCOPE = "sector=food_drug"


def change(workers: int, reason: str = "arrears season") -> dict[str, object]:
    rules = {"wage_arrears": {"thresholds": {"red_workers": workers}}}
    return {"override": {"rules": rules}, "reason": reason}


def test_each_change_is_the_scope_s_next_version_with_its_diff(client: TestClient) -> None:
    first = client.put(f"/policies/{SCOPE}", json=change(5), headers=FOOD)
    second = client.put(f"/policies/{SCOPE}", json=change(3), headers=FOOD)
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert (first.headers["etag"], second.headers["etag"]) == ('"1"', '"2"')
    other = client.put("/policies/sector=finance", json=change(4), headers=ADMIN)
    assert other.json()["version"] == 1  # versions count per scope
    items = client.get("/policies/history", params={"scope": SCOPE}, headers=ADMIN).json()["items"]
    assert [item["version"] for item in items] == [2, 1]
    assert items[0]["diff"] == {"wage_arrears.thresholds.red_workers": [5, 3]}
    assert items[0]["who"] == "food-supervisor" and items[0]["reason"] == "arrears season"
    assert items[1]["before"] is None
    # A supervisor sees only the scopes that reach theirs.
    seen = client.get("/policies/history", headers=FOOD).json()["items"]
    assert {item["scope"] for item in seen} == {SCOPE}
    assert len(client.get("/policies/history", headers=ADMIN).json()["items"]) == 3


def test_if_match_refuses_a_change_made_on_a_stale_version(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    assert (
        client.put(
            f"/policies/{SCOPE}", json=change(5), headers=FOOD | {"If-Match": "*"}
        ).status_code
        == 412
    )
    assert (
        client.put(
            f"/policies/{SCOPE}", json=change(5), headers=FOOD | {"If-Match": '"0"'}
        ).status_code
        == 200
    )
    ok = client.put(f"/policies/{SCOPE}", json=change(4), headers=FOOD | {"If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.put(f"/policies/{SCOPE}", json=change(3), headers=FOOD | {"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert "version 2" in stale.json()["detail"]
    weak = client.put(f"/policies/{SCOPE}", json=change(3), headers=FOOD | {"If-Match": 'W/"2"'})
    assert weak.status_code == 412  # If-Match compares strongly
    gone = client.delete(
        f"/policies/{SCOPE}", params={"reason": "x"}, headers=FOOD | {"If-Match": '"1"'}
    )
    assert gone.status_code == 412
    assert len(publisher.sent) == 2 and len(audit_rows(store, "policy_change")) == 2


def test_a_rollback_brings_back_an_earlier_version_as_a_new_one(
    client: TestClient, publisher: FakePublisher
) -> None:
    for workers in (5, 3):
        client.put(f"/policies/{SCOPE}", json=change(workers), headers=FOOD)
    rolled = client.post(
        f"/policies/{SCOPE}/rollback", json={"version": 1, "reason": "too many"}, headers=FOOD
    )
    assert rolled.status_code == 200, rolled.text
    assert (rolled.json()["version"], rolled.json()["restores"]) == (3, 1)
    _, key, value = publisher.sent[-1]
    applied = apply_policy_message(DEFAULT_POLICIES, key, value)
    assert applied.resolve("wage_arrears", "food_drug", "371102").thresholds["red_workers"] == 5
    shown = client.get("/policies", headers=ADMIN).json()["overrides"][SCOPE]
    assert shown["rules"]["wage_arrears"]["thresholds"]["red_workers"] == 5
    missing = client.post(
        f"/policies/{SCOPE}/rollback", json={"version": 9, "reason": "x"}, headers=FOOD
    )
    assert missing.status_code == 404
    elsewhere = client.post(
        f"/policies/{quote('*', safe='')}/rollback",
        json={"version": 1, "reason": "x"},
        headers=FOOD,
    )
    assert elsewhere.status_code == 403


def test_history_pages_and_a_failed_version_is_never_handed_out_again(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    for workers in (5, 4, 3):
        client.put(f"/policies/{SCOPE}", json=change(workers), headers=FOOD)
    publisher.fail = OSError("broker gone")
    assert client.put(f"/policies/{SCOPE}", json=change(2), headers=FOOD).status_code == 503
    publisher.fail = None
    after = client.put(f"/policies/{SCOPE}", json=change(6), headers=FOOD | {"If-Match": '"3"'})
    assert after.status_code == 200 and after.json()["version"] == 5
    assert after.json()["before"]["rules"]["wage_arrears"]["thresholds"]["red_workers"] == 3
    page = client.get("/policies/history", params={"limit": 2}, headers=ADMIN).json()
    versions = [item["version"] for item in page["items"]]
    while page["next"]:
        page = client.get(page["next"], headers=ADMIN).json()
        versions += [item["version"] for item in page["items"]]
    assert versions == [5, 3, 2, 1]
    failed = audit_rows(store, "policy_change_failed")
    assert [orjson.loads(str(row["details"]))["version"] for row in failed] == [4]
