"""Credit checks show pending objections with their 3-working-day decision due."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
from fastapi.testclient import TestClient

from creditbrain.core.eventtime import CST
from creditbrain.infra.store import Store
from tests.api.conftest import add_subject, key_header

COLUMNS = (
    "event_id", "kind", "subject_id", "subject_type", "subject_name", "source", "sector",
    "district", "occurred_at", "reported_at", "payload", "topic", "partition", "offset",
)  # fmt: skip


def objection(store: Store, subject: str, ref: str, status: str, at: datetime) -> None:
    store.insert_rows(
        "events",
        [{"event_id": uuid.uuid4(), "kind": "objection", "subject_id": subject,
          "subject_type": "enterprise", "subject_name": "", "source": "hall", "sector": "food_drug",
          "district": "371102", "occurred_at": at, "reported_at": at,
          "payload": orjson.dumps({"ref_event_id": ref, "status": status}).decode(),
          "topic": "credit.events.repair", "partition": 0, "offset": 0}],
        COLUMNS,
    )  # fmt: skip


def test_an_objection_filed_on_the_friday_before_a_holiday(
    client: TestClient, store: Store
) -> None:
    subject = add_subject(store)
    disputed, decided = str(uuid.uuid4()), str(uuid.uuid4())
    # Friday 26 September 2025, before the eight days of National Day and Mid-Autumn.
    objection(store, subject, disputed, "filed", datetime(2025, 9, 26, 16, 0, tzinfo=CST))
    objection(store, subject, decided, "filed", datetime(2025, 9, 1, 9, 0, tzinfo=CST))
    objection(store, subject, decided, "rejected", datetime(2025, 9, 3, 9, 0, tzinfo=CST))
    answer = client.get(
        f"/subjects/{subject}", params={"purpose": "test"}, headers=key_header("k-regulator")
    )
    assert answer.status_code == 200, answer.text
    pending = answer.json()["objections_pending"]
    assert [p["ref_event_id"] for p in pending] == [disputed]
    # Sunday 28 September (worked), Monday 29, Tuesday 30: due at close of office.
    due = datetime.fromisoformat(pending[0]["decision_due"]).astimezone(CST)
    assert due.isoformat() == "2025-09-30T17:30:00+08:00"
    assert pending[0]["overdue"] is (datetime.now(UTC) > due)


def test_no_objection_no_flag(client: TestClient, store: Store) -> None:
    subject = add_subject(store)
    answer = client.get(
        f"/subjects/{subject}", params={"purpose": "test"}, headers=key_header("k-regulator")
    )
    assert answer.json()["objections_pending"] == []
