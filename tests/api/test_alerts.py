"""Alerts: filters, scopes, the grid's share, acknowledgements."""

from __future__ import annotations

import pytest

from creditbrain.infra.store import Store
from tests.api.conftest import TestClient, add_alert, audit_rows, key_header
from tests.api.test_subjects import HOSTILE

ADMIN = key_header("k-admin")


def ids(response: object) -> set[str]:
    return {alert["alert_id"] for alert in response.json()["items"]}  # type: ignore[attr-defined]


def test_filters_narrow_the_list(client: TestClient, store: Store) -> None:
    red = add_alert(store, "S1", level="red", minutes=1)
    orange = add_alert(store, "S2", rule="score_drop", level="orange", sector="finance")
    resolved = add_alert(store, "S3", status="resolved", district="371103", minutes=2)
    response = client.get("/alerts", headers=ADMIN)
    assert [a["alert_id"] for a in response.json()["items"]] == [resolved, red, orange]
    assert ids(client.get("/alerts", params={"level": "orange"}, headers=ADMIN)) == {orange}
    assert ids(client.get("/alerts", params={"status": "resolved"}, headers=ADMIN)) == {resolved}
    assert ids(client.get("/alerts", params={"sector": "finance"}, headers=ADMIN)) == {orange}
    assert ids(client.get("/alerts", params={"district": "371103"}, headers=ADMIN)) == {resolved}
    assert ids(client.get("/alerts", params={"rule": "score_drop"}, headers=ADMIN)) == {orange}
    since = {"since": "2026-03-05T10:01:00+08:00"}
    assert ids(client.get("/alerts", params=since, headers=ADMIN)) == {red, resolved}
    assert client.get("/alerts", params={"level": "purple"}, headers=ADMIN).status_code == 422


def test_supervisors_see_their_scope_only(client: TestClient, store: Store) -> None:
    food = add_alert(store, "S1", sector="food_drug", district="371103")
    build_dg = add_alert(store, "S2", sector="construction", district="371102")
    add_alert(store, "S3", sector="construction", district="371103")
    assert ids(client.get("/alerts", headers=key_header("k-food"))) == {food}
    assert ids(client.get("/alerts", headers=key_header("k-donggang-build"))) == {build_dg}
    asked = client.get("/alerts", params={"sector": "construction"}, headers=key_header("k-food"))
    assert asked.json() == {"items": [], "next": None}


def test_the_grid_sees_what_is_routed_to_it_with_names_masked(
    client: TestClient, store: Store
) -> None:
    routed = add_alert(store, "p:" + "0" * 32, subject_type="person", name="王小明")
    add_alert(store, "S2", rule="penalty_burst", level="yellow")
    alerts = client.get("/alerts", headers=key_header("k-grid")).json()["items"]
    assert [a["alert_id"] for a in alerts] == [routed]
    assert alerts[0]["subject"]["name"] == "王**"


def test_an_acknowledgement_is_kept_and_audited(client: TestClient, store: Store) -> None:
    alert = add_alert(store, "S1")
    response = client.post(f"/alerts/{alert}/ack", json={"note": "核查中"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "admin-1"
    shown = client.get("/alerts", headers=ADMIN).json()["items"][0]["acknowledgements"]
    assert [(a["by"], a["role"], a["note"]) for a in shown] == [("admin-1", "admin", "核查中")]
    assert [r["details"] for r in audit_rows(store, "alert_ack")] == [
        f'{{"alert_id":"{alert}","note":"核查中"}}'
    ]
    assert client.post("/alerts/unknown/ack", json={}, headers=ADMIN).status_code == 404


def test_acknowledging_outside_the_scope_is_refused(client: TestClient, store: Store) -> None:
    other = add_alert(store, "S1", sector="finance")
    unrouted = add_alert(store, "S2", rule="penalty_burst", level="yellow")
    assert (
        client.post(f"/alerts/{other}/ack", json={}, headers=key_header("k-food")).status_code
        == 403
    )
    grid = client.post(f"/alerts/{unrouted}/ack", json={}, headers=key_header("k-grid"))
    assert grid.status_code == 403
    assert store.query_rows("SELECT count() AS n FROM alert_acks")[0]["n"] == 0


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_filters_are_data_not_sql(client: TestClient, store: Store, hostile: str) -> None:
    add_alert(store, "S1")
    for name in ("sector", "district", "rule"):
        response = client.get("/alerts", params={name: hostile[:16]}, headers=ADMIN)
        assert (response.status_code, response.json()) == (200, {"items": [], "next": None})
    response = client.post(f"/alerts/{hostile}/ack", json={"note": hostile}, headers=ADMIN)
    assert response.status_code in (404, 405)
    assert store.query_rows("SELECT count() AS n FROM alerts")[0]["n"] == 1
