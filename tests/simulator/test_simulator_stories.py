"""Stories, references and red records: the ground truth agrees with the messages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from creditbrain.schemas.identifiers import is_pseudonym, pseudonymise_person_id
from tests.simulator.conftest import KEY, Generated

DAY = timedelta(days=1)
#: DOMAIN.md: minimum time before a repair, by record; absent = any time, None = never.
MINIMUM = {
    ("penalty", "general"): 90 * DAY,
    ("penalty", "serious"): 180 * DAY,
    ("commitment_breach", ""): 90 * DAY,
}
NOT_REPAIRABLE = {("penalty", "simple"), ("judgment", "plaintiff"), ("commendation", "")}


def _variant(body: dict[str, Any]) -> str:
    payload = body["payload"]
    return payload.get("severity") or payload.get("role") or payload.get("list") or ""


def _stored_id(body: dict[str, Any]) -> str:
    subject = body["subject"]
    if subject["type"] == "person":
        return pseudonymise_person_id(subject["id"], KEY)
    return subject["id"]


def _is_red(body: dict[str, Any]) -> bool:
    kind, payload = body["kind"], body["payload"]
    return (
        kind == "dishonest_debtor"
        or (kind == "list_entry" and payload["list"] == "serious_dishonesty")
        or (kind == "wage_arrears" and payload["workers_affected"] >= 10)
    )


def _valid_bodies(run: Generated) -> list[dict[str, Any]]:
    return [json.loads(event.value) for event in run.events if event.error is None]


def test_repairs_and_objections_cite_earlier_records_of_the_subject(small_run: Generated) -> None:
    seen: dict[str, dict[str, Any]] = {}
    repairs = objections = 0
    for event in small_run.events:
        if event.error in ("bad_json", "missing_field", "bad_field", "unknown_kind"):
            continue
        body = json.loads(event.value)
        if body["kind"] not in ("repair", "objection"):
            if event.error is None:
                seen[body["event_id"]] = body
            continue
        cited = seen.get(body["payload"]["ref_event_id"])
        same_subject = cited is not None and cited["subject"]["id"] == body["subject"]["id"]
        if event.error == "unknown_reference":
            assert not same_subject
            continue
        assert same_subject, body
        record = (cited["kind"], _variant(cited))
        gap = datetime.fromisoformat(body["occurred_at"]) - datetime.fromisoformat(
            cited["occurred_at"]
        )
        assert gap >= timedelta(0)
        if body["kind"] == "objection":
            objections += 1
            continue
        assert record not in NOT_REPAIRABLE
        minimum = MINIMUM.get(record, timedelta(0))
        if event.error == "repair_too_early":
            assert gap < minimum
        else:
            repairs += 1
            assert gap >= minimum, (record, gap)
    assert repairs > 20 and objections > 5


def test_first_red_records_match_the_messages(small_run: Generated) -> None:
    first: dict[str, tuple[str, str]] = {}
    for body in _valid_bodies(small_run):
        if _is_red(body):
            first.setdefault(_stored_id(body), (body["occurred_at"], body["event_id"]))
    listed = {s["id"]: s for s in small_run.truth["subjects"]}
    with_red = {
        i: (s["first_red_at"], s["first_red_event_id"])
        for i, s in listed.items()
        if s["first_red_at"]
    }
    assert with_red == first
    assert small_run.truth["population"]["with_red_record"] == len(first)


def test_deteriorating_subjects_slide_into_red(small_run: Generated) -> None:
    stories = [s for s in small_run.truth["subjects"] if s["label"] == "deteriorating"]
    assert len(stories) == small_run.truth["population"]["deteriorating"] > 10
    reached = [s for s in stories if s["first_red_at"]]
    assert len(reached) >= 0.7 * len(stories)
    for story in reached:
        assert story["story_start"] <= story["first_red_at"]
        assert story["type"] in ("enterprise", "non_enterprise", "individual_business")
    # Arrears come first: months overdue only grow, report after report.
    months: dict[str, list[int]] = {}
    story_ids = {s["id"] for s in stories}
    for body in _valid_bodies(small_run):
        if body["kind"] == "social_insurance_arrears" and body["subject"]["id"] in story_ids:
            months.setdefault(body["subject"]["id"], []).append(body["payload"]["months_overdue"])
    assert months and all(m == sorted(m) and len(set(m)) == len(m) for m in months.values())


def test_recovering_subjects_turn_around(small_run: Generated) -> None:
    stories = {s["id"]: s for s in small_run.truth["subjects"] if s["label"] == "recovering"}
    assert len(stories) == small_run.truth["population"]["recovering"] > 10
    after_turn: dict[str, set[str]] = {i: set() for i in stories}
    for body in _valid_bodies(small_run):
        story = stories.get(body["subject"]["id"])
        if story and body["occurred_at"] >= story["turning_point"]:
            after_turn[body["subject"]["id"]].add(body["kind"])
    cleared = sum("arrears_cleared" in kinds for kinds in after_turn.values())
    repaired = sum("repair" in kinds for kinds in after_turn.values())
    assert cleared == len(stories) and repaired >= 0.5 * len(stories)


def test_ground_truth_holds_no_clear_resident_id(small_run: Generated) -> None:
    text = small_run.truth_bytes().decode()
    persons = {
        body["subject"]["id"]
        for body in _valid_bodies(small_run)
        if body["subject"]["type"] == "person"
    }
    assert persons and not any(number in text for number in persons)
    listed_persons = [s for s in small_run.truth["subjects"] if s["type"] == "person"]
    assert listed_persons and all(is_pseudonym(s["id"]) for s in listed_persons)


def test_systemic_episodes_stand_out(small_run: Generated) -> None:
    episodes = small_run.truth["episodes"]
    assert len(episodes) == small_run.config.systemic_episodes
    bodies = _valid_bodies(small_run)
    for episode in episodes:
        cell = [
            b["occurred_at"]
            for b in bodies
            if (b["kind"], b["sector"], b["district"])
            == (episode["kind"], episode["sector"], episode["district"])
        ]
        inside = sum(episode["start"] <= t <= episode["end"] for t in cell)
        days = (
            datetime.fromisoformat(episode["end"]) - datetime.fromisoformat(episode["start"])
        ) / DAY
        outside_per_day = (len(cell) - inside) / (365 - days)
        assert inside >= episode["extra_events"] > 0
        assert inside / days > 3 * outside_per_day, episode
