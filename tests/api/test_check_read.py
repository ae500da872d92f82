"""The credit check's one read agrees with ``FINAL`` on unmerged versions, and the API's
threads each get a store of their own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from creditbrain.api.context import ApiContext
from creditbrain.api.lookup import fetch_subjects
from creditbrain.infra.store import Store
from tests.api.conftest import (
    ALERT_COLUMNS,
    ENTITY_COLUMNS,
    NOW,
    TestClient,
    add_alert,
    add_subject,
    key_header,
)

SCORE_COLUMNS = (
    "subject_id", "subject_type", "sector", "district", "as_of", "score", "grade",
    "previous_score", "previous_grade", "event_id", "cause", "reasons", "recorded_at",
)  # fmt: skip


def _state(subject: str, version: int, score: int, grade: str) -> dict[str, object]:
    return {
        "subject_id": subject, "subject_type": "enterprise", "subject_name": f"v{version}",
        "sector": "food_drug", "district": "371102", "score": score, "grade": grade,
        "reasons": "[]", "records": version, "last_event_at": NOW + timedelta(days=version),
        "version": version,
    }  # fmt: skip


def _change(subject: str, day: int, recorded: int, grade: str = "B") -> dict[str, object]:
    return {
        "subject_id": subject, "subject_type": "enterprise", "sector": "food_drug",
        "district": "371102", "as_of": NOW + timedelta(days=day), "score": 800 + day,
        "grade": grade, "previous_score": None, "previous_grade": "", "event_id": f"e{day}",
        "cause": "event", "reasons": "[]", "recorded_at": NOW + timedelta(seconds=recorded),
    }  # fmt: skip


def _history(store: Store, subject: str) -> None:
    """Versions in separate parts (one INSERT each), out of order, some sent twice."""
    for version, score, grade in ((1, 950, "A"), (3, 610, "C"), (2, 700, "B")):
        store.insert_rows("entity_state", [_state(subject, version, score, grade)], ENTITY_COLUMNS)
    for day in range(25):
        store.insert_rows("scores", [_change(subject, day, 0, "A")], SCORE_COLUMNS)
    for day in (24, 3):  # the same change again, recorded later: its latest copy counts
        store.insert_rows("scores", [_change(subject, day, 60, "C")], SCORE_COLUMNS)


def _alert_version(store: Store, alert_id: str, version: int, status: str, level: str) -> None:
    row = store.query_rows(
        "SELECT * FROM alerts FINAL WHERE alert_id = {a:String}", {"a": alert_id}
    )[0]
    row.update(version=version, status=status, level=level)
    store.insert_rows("alerts", [row], ALERT_COLUMNS)


def _ack(store: Store, alert_id: str, by: str, note: str, seconds: int) -> None:
    store.insert_rows(
        "alert_acks",
        [{"alert_id": alert_id, "acknowledged_by": by, "role": "regulator", "note": note,
          "acknowledged_at": NOW + timedelta(seconds=seconds)}],
        ("alert_id", "acknowledged_by", "role", "note", "acknowledged_at"),
    )  # fmt: skip


def _reference(store: Store, subject: str, history: int) -> dict[str, object]:
    """What the answer was built from before: one query per table, with ``FINAL``."""
    state = store.query_rows(
        "SELECT score, grade, subject_name FROM entity_state FINAL WHERE subject_id = {s:String}",
        {"s": subject},
    )[0]
    changes = store.query_rows(
        "SELECT as_of, score, grade, event_id FROM scores FINAL WHERE subject_id = {s:String} "
        "ORDER BY as_of DESC LIMIT {n:UInt32}",
        {"s": subject, "n": history},
    )
    alerts = store.query_rows(
        "SELECT alert_id, level, status FROM alerts FINAL WHERE subject_id = {s:String} "
        "AND status != 'resolved' ORDER BY event_time DESC",
        {"s": subject},
    )
    acks = store.query_rows(
        "SELECT alert_id, acknowledged_by AS by, note FROM alert_acks FINAL "
        "WHERE alert_id IN {ids:Array(String)} ORDER BY acknowledged_at",
        {"ids": [str(a["alert_id"]) for a in alerts]},
    )
    return {"state": state, "changes": changes, "alerts": alerts, "acks": acks}


def test_one_read_returns_what_final_does(store: Store) -> None:
    subject = add_subject(store, score=1000, grade="A")  # version 1 of add_subject
    _history(store, subject)
    escalated = add_alert(store, subject, minutes=1)
    _alert_version(store, escalated, 2, "escalated", "red")
    resolved = add_alert(store, subject, rule="score_drop", minutes=2)
    _alert_version(store, resolved, 2, "resolved", "blue")
    newest = add_alert(store, subject, rule="grade_drop", level="yellow", minutes=3)
    _ack(store, escalated, "reg-1", "first", 1)
    _ack(store, escalated, "reg-1", "seen again", 5)  # replaces reg-1's first
    _ack(store, escalated, "reg-2", "also", 3)
    other = add_subject(store)  # another subject's rows stay out

    found = fetch_subjects(store, ["91350100M000100Y43", subject, other], 20)
    assert [f.subject_id for f in found] == [subject, other]
    got = found[0]
    want = _reference(store, subject, 20)
    assert (got.state["score"], got.state["grade"], got.state["subject_name"]) == (610, "C", "v3")
    assert state_of(want) == (610, "C", "v3")
    assert [(p["as_of"], p["score"], p["grade"], p["event_id"]) for p in got.history] == [
        (c["as_of"], c["score"], c["grade"], c["event_id"]) for c in want["changes"]
    ]
    assert len(got.history) == 20 and got.history[0]["grade"] == "C"  # day 24, recorded later
    assert [(a["alert_id"], a["level"], a["status"]) for a in got.alerts] == [
        (a["alert_id"], a["level"], a["status"]) for a in want["alerts"]
    ]
    assert [a["alert_id"] for a in got.alerts] == [newest, escalated]
    acks = got.alerts[1]["acknowledgements"]
    assert (
        [(a["by"], a["note"]) for a in acks]
        == [(a["by"], a["note"]) for a in want["acks"]]
        == [("reg-2", "also"), ("reg-1", "seen again")]
    )
    assert got.alerts[0]["acknowledgements"] == []
    assert found[1].history == [] and found[1].alerts == [] and found[1].list_entries == {}


def state_of(reference: dict[str, object]) -> tuple[object, ...]:
    state = reference["state"]
    assert isinstance(state, dict)
    return (state["score"], state["grade"], state["subject_name"])


def test_the_answer_shows_acknowledgements_of_open_alerts(client: TestClient, store: Store) -> None:
    subject = add_subject(store)
    alert = add_alert(store, subject)
    _ack(store, alert, "reg-1", "on it", 1)
    body = client.get(
        f"/subjects/{subject}", params={"purpose": "p"}, headers=key_header("k-hall")
    ).json()
    [shown] = body["open_alerts"]
    assert shown["alert_id"] == alert
    assert [(a["by"], a["note"]) for a in shown["acknowledgements"]] == [("reg-1", "on it")]


def _context(factory: Callable[[], Store]) -> ApiContext:
    return ApiContext(
        settings=None,  # type: ignore[arg-type]
        keys=None,  # type: ignore[arg-type]
        store_factory=factory,
        publisher=None,  # type: ignore[arg-type]
        catalogue=None,  # type: ignore[arg-type]
        limiter=None,  # type: ignore[arg-type]
    )


def test_each_thread_gets_its_own_store_and_a_finished_thread_hands_it_on() -> None:
    opened: list[object] = []

    def factory() -> Store:
        made = object()
        opened.append(made)
        return made  # type: ignore[return-value]

    context = _context(factory)
    mine = context.store()
    assert context.store() is mine
    seen: dict[str, object] = {}
    go = threading.Barrier(2)

    def use(name: str) -> None:
        go.wait()  # both alive at once: two stores
        seen[name] = context.store()
        go.wait()

    workers = [threading.Thread(target=use, args=(name,)) for name in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len({id(seen["a"]), id(seen["b"]), id(mine)}) == 3
    later = threading.Thread(target=lambda: seen.update(c=context.store()))
    later.start()
    later.join()
    assert seen["c"] in (seen["a"], seen["b"])  # reused, not a fourth
    assert len(opened) == 3


def test_a_failing_factory_is_tried_again() -> None:
    calls = []

    def factory() -> Store:
        calls.append(1)
        raise RuntimeError("store down")

    context = _context(factory)
    for _ in range(2):
        try:
            context.store()
        except RuntimeError:
            pass
    assert len(calls) == 2
