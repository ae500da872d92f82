"""``/cases`` and ``/inspections``: states, scope, the grid, bulk, reports, audit."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from creditbrain.alerts.cases import CaseConfig, join
from creditbrain.alerts.cases.case import example_warning
from creditbrain.core.workdays import default_calendar
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.store import Store
from tests.api.conftest import add_subject, audit_rows, key_header


def open_case(
    store: Store,
    *,
    sector: str = "construction",
    district: str = "371102",
    rule: str = "dishonest_debtor_listed",
    subject: str = "91371100MA3C0001X1",
) -> str:
    warning = example_warning(
        f"a-{subject}-{sector}", "2026-03-02T10:00:00+08:00", rule=rule, sector=sector,
        district=district, subject_id=subject,
    )  # fmt: skip
    step = join(None, warning, CaseConfig(), default_calendar())
    assert step is not None
    CaseRepository(store).save(step)
    return step.case.case_id


def test_acknowledge_then_dispose_with_history_and_audit(client: TestClient, store: Store) -> None:
    case_id = open_case(store)
    admin = key_header("k-regulator")
    answer = client.post(
        f"/cases/{case_id}/transitions", json={"action": "acknowledge"}, headers=admin
    )
    assert answer.status_code == 200 and answer.json()["state"] == "acknowledged"
    answer = client.post(
        f"/cases/{case_id}/transitions",
        json={"action": "dispose", "disposition": "confirmed_risk", "note": "已约谈",
              "attachments": ["doc:RZ-2026-0042"]},
        headers=admin,
    )  # fmt: skip
    assert answer.json()["state"] == "disposed" and answer.json()["disposition"] == "confirmed_risk"
    again = client.post(
        f"/cases/{case_id}/transitions", json={"action": "acknowledge"}, headers=admin
    )
    assert again.status_code == 409
    detail = client.get(f"/cases/{case_id}", headers=admin).json()
    assert [t["event"] for t in detail["transitions"]] == ["opened", "acknowledged", "disposed"]
    assert detail["transitions"][2]["attachments"] == ["doc:RZ-2026-0042"]
    assert detail["transitions"][2]["actor"] == "regulator-1"
    assert [r["action"] for r in audit_rows(store, "case_acknowledge")] == ["case_acknowledge"]
    assert len(audit_rows(store, "case_dispose")) == 1


def test_supervisors_see_and_act_in_scope_only(client: TestClient, store: Store) -> None:
    inside = open_case(store, sector="construction", district="371102")
    outside = open_case(
        store, sector="construction", district="371103", subject="91371100MA3C0002X1"
    )
    listed = client.get("/cases", headers=key_header("k-donggang-build")).json()
    assert [c["case_id"] for c in listed["items"]] == [inside]
    assert listed["next"] is None
    refused = client.post(
        f"/cases/{outside}/transitions", json={"action": "acknowledge"},
        headers=key_header("k-donggang-build"),
    )  # fmt: skip
    assert refused.status_code == 403
    leadership = client.post(
        f"/cases/{inside}/transitions", json={"action": "acknowledge"},
        headers=key_header("k-leadership"),
    )  # fmt: skip
    assert leadership.status_code == 403


def test_the_grid_sees_only_cases_routed_to_it(client: TestClient, store: Store) -> None:
    routed = open_case(store, rule="grade_fell_to_D")  # grid by default
    kept = open_case(store, rule="penalty_burst", subject="91371100MA3C0003X1")
    page = client.get("/cases", headers=key_header("k-grid")).json()
    seen = {c["case_id"] for c in page["items"]}
    assert seen == {routed}
    assert client.get(f"/cases/{kept}", headers=key_header("k-grid")).status_code == 403


def test_cases_come_in_pages_that_neither_repeat_nor_skip(client: TestClient, store: Store) -> None:
    opened = {
        open_case(store, subject=f"91371100MA3C01{n:02d}X1", sector="construction")
        for n in range(5)
    }
    seen: list[str] = []
    url: str | None = "/cases?limit=2&sector=construction"
    pages = 0
    while url is not None:
        answer = client.get(url, headers=key_header("k-admin"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= 2
        seen += [c["case_id"] for c in body["items"]]
        url = body["next"]
        if url is not None:
            assert answer.headers["Link"] == f'<{url}>; rel="next"'
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen))
    assert opened <= set(seen)


def test_bulk_actions_succeed_or_fail_per_case(client: TestClient, store: Store) -> None:
    first = open_case(store)
    second = open_case(store, subject="91371100MA3C0004X1")
    client.post(
        f"/cases/{second}/transitions",
        json={"action": "investigate"},
        headers=key_header("k-admin"),
    )
    answer = client.post(
        "/cases/bulk",
        json={"case_ids": [first, second, "nope"], "action": "acknowledge"},
        headers=key_header("k-admin"),
    )
    results = {r["case_id"]: r for r in answer.json()}
    assert results[first]["ok"] and results[first]["case"]["state"] == "acknowledged"
    assert not results[second]["ok"] and "investigating" in results[second]["detail"]
    assert results["nope"]["detail"] == "no such case"


def test_a_grid_report_through_the_api_applies_once(client: TestClient, store: Store) -> None:
    case_id = open_case(store, rule="grade_fell_to_D")
    report = {
        "specversion": "1.0", "id": "grid-r-1", "type": "cn.creditbrain.case.disposition",
        "source": "grid/371102", "subject": case_id, "time": "2026-03-03T09:00:00+08:00",
        "data": {"case_id": case_id, "disposition": "handled_with_measures",
                 "by": "grid-371102-017", "at": "2026-03-03T08:50:00+08:00"},
    }  # fmt: skip
    first = client.post("/cases/dispositions", json=report, headers=key_header("k-grid"))
    second = client.post("/cases/dispositions", json=report, headers=key_header("k-grid"))
    assert (first.json()["result"], second.json()["result"]) == ("applied", "repeated")
    assert second.json()["case"]["state"] == "disposed"
    history = CaseRepository(store).transitions(case_id)
    assert [t["event"] for t in history].count("disposed") == 1
    assert len(audit_rows(store, "case_disposition")) == 1
    bad = dict(report, subject="other")
    assert (
        client.post("/cases/dispositions", json=bad, headers=key_header("k-grid")).status_code
        == 422
    )


def test_the_inspection_list_is_reproducible_and_audited(client: TestClient, store: Store) -> None:
    for i in range(30):
        add_subject(store, sector="food_drug", grade="D" if i < 10 else "A")
    url = "/inspections/food_drug/2026-03?seed=42"
    first = client.get(url, headers=key_header("k-food"))
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/csv")
    assert client.get(url, headers=key_header("k-food")).text == first.text
    rows = list(csv.DictReader(io.StringIO(first.text)))
    assert sum(r["grade"] == "D" for r in rows) == 3  # 30 % of 10
    assert {r["seed"] for r in rows} == {"42"}
    assert len(audit_rows(store, "inspection_list")) == 2
    outside = client.get("/inspections/finance/2026-03?seed=1", headers=key_header("k-food"))
    assert outside.status_code == 403


def test_the_grid_sees_a_persons_case_with_the_name_masked(
    client: TestClient, store: Store
) -> None:
    from dataclasses import replace

    warning = example_warning("p-1", "2026-03-02T10:00:00+08:00", rule="grade_fell_to_D")
    step = join(None, warning, CaseConfig(), default_calendar())
    assert step is not None
    person = replace(step.case, subject_type="person", subject_name="王小明")
    CaseRepository(store).save(step._replace(case=person))
    grid = client.get("/cases", headers=key_header("k-grid")).json()["items"]
    assert [c["subject_name"] for c in grid] == ["王**"]
    one = client.get(f"/cases/{person.case_id}", headers=key_header("k-grid")).json()
    assert one["subject_name"] == "王**"
    full = client.get(f"/cases/{person.case_id}", headers=key_header("k-regulator")).json()
    assert full["subject_name"] == "王小明"
    # Acting as the grid stores nothing masked.
    client.post(
        f"/cases/{person.case_id}/transitions",
        json={"action": "acknowledge"},
        headers=key_header("k-grid"),
    )
    stored = CaseRepository(store).get(person.case_id)
    assert stored is not None and stored.subject_name == "王小明" and stored.state == "acknowledged"
