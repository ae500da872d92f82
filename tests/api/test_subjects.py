"""The credit check: what it answers, who may ask, what it leaves behind."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from creditbrain.api import create_app
from creditbrain.infra.store import Store
from creditbrain.schemas.identifiers import pseudonymise_person_id
from tests.api.conftest import (
    NOW,
    PSEUDONYM_KEY,
    FakePublisher,
    TestClient,
    add_alert,
    add_subject,
    audit_rows,
    key_header,
    settings_for_tests,
)

HALL = key_header("k-hall")
RESIDENT_ID = "11010519491231002X"
HOSTILE = [
    "' OR 1=1 --",
    "x'); DROP TABLE audit; --",
    "{id:String}",
    "\\' UNION SELECT * FROM system.users --",
    "%00\u202e",
    "p:' OR ''='",
]


def test_an_a_grade_enterprise_gets_its_score_and_rewards(client: TestClient, store: Store) -> None:
    subject = add_subject(store, score=950, grade="A")
    store.insert_rows(
        "scores",
        [{"subject_id": subject, "subject_type": "enterprise", "sector": "food_drug",
          "district": "371102", "as_of": NOW, "score": 950, "grade": "A",
          "previous_score": 1000, "previous_grade": "A", "event_id": "e1", "cause": "event",
          "reasons": "[]"}],
        ("subject_id", "subject_type", "sector", "district", "as_of", "score", "grade",
         "previous_score", "previous_grade", "event_id", "cause", "reasons"),
    )  # fmt: skip
    response = client.get(f"/subjects/{subject.lower()}", params={"purpose": "loan"}, headers=HALL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"]["id"] == subject
    assert (body["score"], body["grade"], body["lists"]) == (950, "A", [])
    codes = {m["code"] for m in body["measures"]}
    assert {"fast_track_approval", "credit_loans", "fewer_inspections"} == codes
    assert [p["score"] for p in body["score_history"]] == [950]


def test_lists_bring_their_joint_punishment_and_open_alerts_show(
    client: TestClient, store: Store
) -> None:
    entry = uuid.uuid4()
    reasons = [
        {"event_id": "d1", "kind": "dishonest_debtor", "effect": -200},
        {"event_id": str(entry), "kind": "list_entry", "effect": -300},
    ]
    subject = add_subject(store, score=500, grade="D", reasons=reasons)
    store.insert_rows(
        "events",
        [{"event_id": entry, "kind": "list_entry", "subject_id": subject,
          "subject_type": "enterprise", "subject_name": "x", "source": "s",
          "sector": "food_drug", "district": "371102", "occurred_at": NOW, "reported_at": NOW,
          "payload": '{"list": "serious_dishonesty"}', "topic": "t", "partition": 0,
          "offset": 0}],
        ("event_id", "kind", "subject_id", "subject_type", "subject_name", "source", "sector",
         "district", "occurred_at", "reported_at", "payload", "topic", "partition", "offset"),
    )  # fmt: skip
    alert = add_alert(store, subject)
    add_alert(store, subject, rule="score_drop", status="resolved")
    body = client.get(f"/subjects/{subject}", params={"purpose": "bid"}, headers=HALL).json()
    assert body["lists"] == ["dishonest_debtor", "serious_dishonesty"]
    codes = [m["code"] for m in body["measures"]]
    assert codes[:2] == ["key_supervision", "more_random_inspections"]
    assert {"high_consumption_restricted", "procurement_excluded", "no_honours"} <= set(codes)
    assert len(codes) == len(set(codes))
    # The audit row records the measures the check presented.
    (row,) = audit_rows(store, "credit_check")
    assert orjson.loads(str(row["details"]))["measures"] == codes
    assert [a["alert_id"] for a in body["open_alerts"]] == [alert]


def test_purpose_is_required(client: TestClient, store: Store) -> None:
    subject = add_subject(store)
    for params in ({}, {"purpose": ""}):
        assert client.get(f"/subjects/{subject}", params=params, headers=HALL).status_code == 422
    # Refused, but attempted: audited with their outcome, never as a check that was made.
    rows = audit_rows(store, "credit_check")
    assert [orjson.loads(str(r["details"])) for r in rows] == [{"outcome": 422}] * 2


def test_every_check_is_audited_found_or_not(client: TestClient, store: Store) -> None:
    subject = add_subject(store)
    client.get(f"/subjects/{subject}", params={"purpose": "窗口办理 loan"}, headers=HALL)
    missing = "91350100M000100Y43"
    assert (
        client.get(f"/subjects/{missing}", params={"purpose": "p"}, headers=HALL).status_code == 404
    )
    rows = audit_rows(store, "credit_check")
    assert [(r["actor"], r["role"], r["subject_id"], r["purpose"]) for r in rows] == [
        ("hall-window-3", "service_hall", subject, "窗口办理 loan"),
        ("hall-window-3", "service_hall", missing, "p"),
    ]
    assert [orjson.loads(str(r["details"]))["found"] for r in rows] == [True, False]


def test_a_person_is_found_by_pseudonym_and_the_clear_id_is_never_echoed(
    client: TestClient, store: Store
) -> None:
    pseudonym = pseudonymise_person_id(RESIDENT_ID, PSEUDONYM_KEY.encode())
    add_subject(store, pseudonym, subject_type="person", name="王小明")
    for typed in (RESIDENT_ID, RESIDENT_ID.lower(), pseudonym):
        response = client.get(f"/subjects/{typed}", params={"purpose": "rent"}, headers=HALL)
        assert response.status_code == 200
        assert response.json()["subject"]["id"] == pseudonym
        assert RESIDENT_ID not in response.text.upper()
    other = "371102198001011238"  # valid check digit, nobody stored
    response = client.get(f"/subjects/{other}", params={"purpose": "rent"}, headers=HALL)
    assert response.status_code == 404 and other not in response.text
    logged = store.query_rows("SELECT subject_id, details FROM audit")
    assert all(RESIDENT_ID not in str(row).upper() and other not in str(row) for row in logged)
    assert {row["subject_id"] for row in logged} == {
        pseudonym,
        pseudonymise_person_id(other, PSEUDONYM_KEY.encode()),
    }


def test_supervisors_check_only_within_their_scope(client: TestClient, store: Store) -> None:
    food = add_subject(store, sector="food_drug", district="371103")
    build_dg = add_subject(store, sector="construction", district="371102")
    build_ls = add_subject(store, sector="construction", district="371103")
    food_key, build_key = key_header("k-food"), key_header("k-donggang-build")
    params = {"purpose": "inspection"}
    assert client.get(f"/subjects/{food}", params=params, headers=food_key).status_code == 200
    assert client.get(f"/subjects/{build_dg}", params=params, headers=food_key).status_code == 403
    assert client.get(f"/subjects/{build_dg}", params=params, headers=build_key).status_code == 200
    assert client.get(f"/subjects/{build_ls}", params=params, headers=build_key).status_code == 403
    refused = [
        r for r in audit_rows(store, "credit_check") if '"allowed":false' in str(r["details"])
    ]
    assert len(refused) == 2


def test_credit_checks_are_rate_limited_per_key(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    client = make_client(credit_checks_per_minute=1, credit_check_burst=3)
    subject = add_subject(store)
    codes = [
        client.get(f"/subjects/{subject}", params={"purpose": "p"}, headers=HALL).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    limited = client.get(f"/subjects/{subject}", params={"purpose": "p"}, headers=HALL)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    other = client.get(
        f"/subjects/{subject}", params={"purpose": "p"}, headers=key_header("k-admin")
    )
    assert other.status_code == 200
    assert (
        "creditbrain_credit_checks_rate_limited_total 2"
        in client.get("/metrics", headers=key_header("k-admin")).text
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_input_is_data_not_sql(client: TestClient, store: Store, hostile: str) -> None:
    subject = add_subject(store)
    response = client.get(f"/subjects/{hostile}", params={"purpose": "p"}, headers=HALL)
    assert response.status_code in (404, 422)
    response = client.get(f"/subjects/{subject}", params={"purpose": hostile}, headers=HALL)
    assert response.status_code == 200
    assert audit_rows(store, "credit_check")[-1]["purpose"] == hostile
    assert store.query_rows("SELECT count() AS n FROM entity_state")[0]["n"] == 1


def test_an_open_model_warning_shows_why(client: TestClient, store: Store) -> None:
    subject = add_subject(store, score=900, grade="B", reasons=[])
    alert = add_alert(store, subject, rule="predicted_serious_default", level="yellow")
    why = [{"feature": "si_months", "weight": 1.2, "zh": "社保欠费 2 个月", "en": "x"}]
    body = orjson.dumps({"data": {"alert_id": alert, "explanation": why}}).decode()
    store.insert_rows(
        "alert_events",
        [{"alert_id": alert, "type": "cn.creditbrain.warning.opened", "level": "yellow",
          "subject_id": subject, "sector": "food_drug", "district": "371102",
          "rule": "predicted_serious_default", "time": NOW, "body": body}],
        ("alert_id", "type", "level", "subject_id", "sector", "district", "rule", "time", "body"),
    )  # fmt: skip
    check = client.get(f"/subjects/{subject}", params={"purpose": "bid"}, headers=HALL).json()
    assert check["explanations"] == {alert: why}


def test_a_check_says_which_scorecard_scored_the_subject(
    client: TestClient, store: Store, publisher: FakePublisher, tmp_path: Path
) -> None:
    path = tmp_path / "scorecard.toml"
    path.write_text(
        '[sectors.food_drug.publicity_days]\n"penalty.general" = 730\n'
        '[persons.deductions]\n"penalty.general" = 10\n'
    )
    settings = settings_for_tests().model_copy(update={"scorecard_file": path})
    overridden = TestClient(create_app(settings, lambda: store, publisher))
    food, finance = add_subject(store), add_subject(store, sector="finance")
    person = pseudonymise_person_id(RESIDENT_ID, PSEUDONYM_KEY.encode())
    add_subject(store, person, sector="food_drug", subject_type="person", name="张三")

    def scorecard(app: TestClient, subject: str) -> dict[str, object]:
        response = app.get(f"/subjects/{subject}", params={"purpose": "loan"}, headers=HALL)
        assert response.status_code == 200, response.text
        shown: dict[str, object] = response.json()["scorecard"]
        return shown

    assert scorecard(overridden, food) == {
        "overrides": ["sectors.food_drug"],
        "changes": {"publicity_days.penalty.general": 730},
    }
    assert scorecard(overridden, finance) == {"overrides": [], "changes": {}}
    assert scorecard(overridden, person)["overrides"] == ["persons", "sectors.food_drug"]
    # The deployment without a scorecard file: the default for everyone.
    assert scorecard(client, food) == {"overrides": [], "changes": {}}
    overridden.close()


def test_a_bad_scorecard_file_stops_the_api_at_start(
    store: Store, publisher: FakePublisher, tmp_path: Path
) -> None:
    path = tmp_path / "scorecard.toml"
    path.write_text('[sectors.work_safety.publicity_days]\n"penalty.general" = -1\n')
    settings = settings_for_tests().model_copy(update={"scorecard_file": path})
    with pytest.raises(Exception, match="publicity_days.penalty.general"):
        create_app(settings, lambda: store, publisher)
