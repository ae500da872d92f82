"""The life of an alert: cooldown, escalation, stable ids, policies that change, routing."""

from __future__ import annotations

import random
from copy import deepcopy
from typing import Any

import orjson

from creditbrain.alerts import AlertState, Transition, judge, last_score
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.models.scorecard import DEFAULT_SCORECARD, apply_event, evaluate
from creditbrain.schemas.events import CreditEvent, SubjectType
from creditbrain.schemas.identifiers import generate_credit_code, generate_resident_id
from creditbrain.schemas.policies import (
    DEFAULT_POLICIES,
    PolicyOverride,
    PolicySet,
    apply_policy_message,
    policy_message,
)
from creditbrain.schemas.state import EntityState, Record
from creditbrain.schemas.warnings import WarningEvent
from tests.alerts.driver import Driver, changes, of_rule, only
from tests.strategies import DAY, make_event


def ev(kind: str, payload: dict[str, Any] | None = None, day: float = 0, **kw: Any) -> CreditEvent:
    return make_event(kind, payload, at=day * DAY, **kw)


def wage(workers: int, day: float, **kw: Any) -> CreditEvent:
    return ev("wage_arrears", {"amount_cny": 5_000, "workers_affected": workers}, day, **kw)


def listing(day: float, case: str = "C-1", **kw: Any) -> CreditEvent:
    return ev("dishonest_debtor", {"case_no": case}, day, **kw)


def overrides(scopes: dict[str, dict[str, Any]]) -> PolicySet:
    return PolicySet.model_validate(
        {"overrides": {scope: {"rules": rules} for scope, rules in scopes.items()}}
    )


# --- cooldown and repeats ------------------------------------------------------------------------


def test_repeats_within_the_cooldown_are_stored_and_after_it_sent_again() -> None:
    d = Driver()
    opened = only(d.apply(listing(0)), "dishonest_debtor_listed")
    within = only(d.apply(listing(6.99, "C-2")), "dishonest_debtor_listed")
    after = only(d.apply(listing(7, "C-3")), "dishonest_debtor_listed")  # 7 days after the opening
    again = only(d.apply(listing(10, "C-4")), "dishonest_debtor_listed")  # 3 days after the resend
    assert [(u.change, u.notify, u.version) for u in (opened, within, after, again)] == [
        ("opened", True, 1),
        ("updated", False, 2),
        ("updated", True, 3),
        ("updated", False, 4),
    ]
    assert {u.alert_id for u in (opened, within, after, again)} == {opened.alert_id}
    assert len(after.doc["data"]["reasons"]) == 3


def test_cooldown_follows_the_policy() -> None:
    d = Driver(overrides({"*": {"dishonest_debtor_listed": {"cooldown_days": 0}}}))
    d.apply(listing(0))
    assert only(d.apply(listing(0.5, "C-2")), "dishonest_debtor_listed").notify


def test_holding_without_news_sends_and_stores_nothing() -> None:
    d = Driver()
    d.apply(listing(0))
    assert of_rule(d.apply(ev("license", day=30)), "dishonest_debtor_listed") == []


def test_a_resolved_alert_is_not_reopened_under_its_id() -> None:
    d = Driver()
    first = wage(3, 0)
    opened = only(d.apply(first), "wage_arrears")
    d.apply(ev("arrears_cleared", {"ref_kind": "wage_arrears"}, 1))
    reopened = only(d.apply(wage(3, 2)), "wage_arrears")
    assert reopened.change == "opened" and reopened.alert_id != opened.alert_id


def test_an_escalated_alert_is_resent_with_the_escalated_type() -> None:
    d = Driver(overrides({"*": {"penalty_burst": {"cooldown_days": 0}}}))
    for day in (0, 1):
        d.apply(ev("penalty", day=day))
    d.apply(ev("penalty", day=2))
    d.policies = overrides({"*": {"penalty_burst": {"level": "red", "cooldown_days": 0}}})
    escalated = only(d.apply(ev("penalty", day=3)), "penalty_burst")
    assert escalated.change == "escalated"
    resent = only(d.apply(ev("penalty", day=4)), "penalty_burst")
    assert (resent.change, resent.notify) == ("updated", True)
    assert resent.doc["type"] == "cn.creditbrain.warning.escalated"
    assert resent.doc["data"]["status"] == "escalated"


# --- stable ids and replays ---------------------------------------------------------------------

STORY = [
    ("wage_arrears", {"amount_cny": 5_000, "workers_affected": 4}, 0),
    ("penalty", {"decision_no": "D", "severity": "serious", "amount_cny": 450_000}, 2),
    ("dishonest_debtor", {"case_no": "C"}, 3),
    ("wage_arrears", {"amount_cny": 9_000, "workers_affected": 14}, 5),
    ("penalty", {"decision_no": "D2", "severity": "general"}, 20),
    ("penalty", {"decision_no": "D3", "severity": "general"}, 21),
    ("arrears_cleared", {"ref_kind": "wage_arrears"}, 40),
]


def story(seed: int = 1) -> list[CreditEvent]:
    rng = random.Random(seed)
    ids = [f"00000000-0000-4000-8000-{rng.getrandbits(48):012x}" for _ in STORY]
    return [
        ev(kind, payload, day, event_id=event_id)
        for (kind, payload, day), event_id in zip(STORY, ids, strict=True)
    ]


def bodies(driver: Driver, events: list[CreditEvent], until: float) -> list[bytes]:
    for event in events:
        driver.apply(event)
    driver.advance(until * DAY)
    return [u.body for u in driver.log]


def test_a_replay_gives_the_same_warnings_byte_for_byte() -> None:
    live = bodies(Driver(), story(), 2000)
    assert len(live) > 10
    assert bodies(Driver(), story(), 2000) == live
    assert bodies(Driver(persist=True), story(), 2000) == live  # state through JSON each time


def test_a_redelivered_event_changes_nothing() -> None:
    d = Driver()
    events = story()
    for event in events[:4]:
        d.apply(event)
    before = len(d.log)
    for event in events[:4]:
        assert d.apply(event, must_apply=False) == []
    assert len(d.log) == before


def test_the_same_transition_judged_twice_from_the_same_state_gives_the_same_updates() -> None:
    state = EntityState.for_event(listing(0))
    event = listing(0)
    apply_event(state, event, DEFAULT_SCORECARD)
    at = to_epoch_ms(event.occurred_at)
    after = evaluate(state, at, DEFAULT_SCORECARD)
    transition = Transition.of(state, last_score(state), after, at, Record.from_event(event))
    alerts = AlertState()
    first = judge(deepcopy(alerts), transition, DEFAULT_POLICIES)
    second = judge(deepcopy(alerts), transition, DEFAULT_POLICIES)
    assert first == second and first


def test_alert_ids_depend_on_subject_rule_and_opening() -> None:
    first, second = Driver(), Driver()
    a = {u.rule: u.alert_id for u in first.apply(listing(0))}
    b = {u.rule: u.alert_id for u in second.apply(listing(1))}
    assert len(set(a.values())) == len(a)  # one id per rule
    assert not set(a.values()) & set(b.values())


# --- policies ------------------------------------------------------------------------------------


def test_the_next_transition_after_a_policy_message_uses_it() -> None:
    d = Driver()
    key, value = policy_message(
        "sector=construction",
        PolicyOverride.model_validate({"rules": {"wage_arrears": {"enabled": False}}}),
    )
    d.policies = apply_policy_message(d.policies, key, value)
    assert not of_rule(d.apply(wage(3, 0, sector="construction")), "wage_arrears")
    other = make_event(
        "wage_arrears",
        {"amount_cny": 1, "workers_affected": 1},
        subject_id=generate_credit_code(random.Random(11)),
    )
    assert only(d.apply(other), "wage_arrears").change == "opened"  # another sector
    d.policies = apply_policy_message(d.policies, key, None)
    assert only(d.apply(wage(3, 1, sector="construction")), "wage_arrears").change == "opened"


def test_overrides_follow_their_precedence_in_judging() -> None:
    policies = overrides(
        {
            "district=371102": {"wage_arrears": {"level": "yellow"}},
            "sector=construction": {"wage_arrears": {"level": "blue"}},
        }
    )
    levels = {}
    for sector in ("construction", "finance"):
        update = only(Driver(policies).apply(wage(3, 0, sector=sector)), "wage_arrears")
        levels[sector] = update.doc["data"]["level"]
    assert levels == {"construction": "blue", "finance": "yellow"}


def test_a_higher_level_in_a_new_policy_escalates_at_the_next_news() -> None:
    d = Driver()
    d.apply(wage(3, 0))
    d.policies = overrides(
        {"*": {"wage_arrears": {"level": "red", "thresholds": {"red_workers": 99}}}}
    )
    assert only(d.apply(wage(4, 1)), "wage_arrears").change == "escalated"


def test_a_disabled_rule_neither_opens_nor_escalates_but_its_open_alert_resolves() -> None:
    d = Driver()
    assert only(d.apply(wage(3, 0)), "wage_arrears").change == "opened"
    d.policies = overrides({"*": {"wage_arrears": {"enabled": False}}})
    assert not of_rule(d.apply(wage(30, 1)), "wage_arrears")  # would have escalated
    cleared = d.apply(ev("arrears_cleared", {"ref_kind": "wage_arrears"}, 2))
    assert only(cleared, "wage_arrears").change == "resolved"
    assert not of_rule(d.apply(wage(30, 3)), "wage_arrears")


# --- routing -------------------------------------------------------------------------------------


def person_wage(day: float = 0, name: str = "王小明") -> CreditEvent:
    number = generate_resident_id(random.Random(5))
    return wage(12, day, subject_id=number, subject_type=SubjectType.PERSON, name=name)


def test_grid_gets_a_persons_name_masked_and_everyone_else_the_full_warning() -> None:
    update = only(Driver().apply(person_wage()), "wage_arrears")
    assert update.grid and update.grid_body is not None
    full, grid = orjson.loads(update.body), orjson.loads(update.grid_body)
    assert full["data"]["subject"]["name"] == "王小明"
    assert grid["data"]["subject"]["name"] == "王**"
    assert full["subject"].startswith("p:") and grid["subject"] == full["subject"]
    assert {**grid, "data": {**grid["data"], "subject": full["data"]["subject"]}} == full


def test_the_policy_may_reveal_persons_names_to_the_grid() -> None:
    d = Driver(overrides({"*": {"wage_arrears": {"reveal_person_names": True}}}))
    update = only(d.apply(person_wage()), "wage_arrears")
    assert update.grid_body == update.body


def test_enterprise_names_are_not_masked_and_unrouted_rules_stay_off_the_grid() -> None:
    d = Driver()
    update = only(d.apply(wage(12, 0)), "wage_arrears")
    assert update.grid_body == update.body
    burst = [u for day in (1, 2, 3) for u in d.apply(ev("penalty", day=day))]
    routed = only(burst, "penalty_burst")
    assert (routed.grid, routed.grid_body) == (False, None)


def test_the_grid_gets_the_resolution_of_what_it_was_sent() -> None:
    d = Driver()
    d.apply(wage(12, 0))
    d.policies = overrides({"*": {"wage_arrears": {"grid": False}}})
    resolved = only(d.apply(ev("arrears_cleared", {"ref_kind": "wage_arrears"}, 1)), "wage_arrears")
    assert resolved.grid


def test_every_update_is_a_valid_cloud_event_whose_body_is_its_json() -> None:
    d = Driver()
    for event in story():
        d.apply(event)
    d.advance(2000 * DAY)
    assert {u.change for u in d.log} == {"opened", "updated", "escalated", "resolved"}
    for update in d.log:
        warning = update.warning
        assert isinstance(warning, WarningEvent)
        assert warning.to_bytes() == update.body
        assert update.key == warning.subject.encode()
        expected = {"opened": "open", "escalated": "escalated", "resolved": "resolved"}
        assert warning.data.status == expected.get(update.change, warning.data.status)
        assert warning.type.endswith("resolved") is (update.change == "resolved")


def test_alert_state_is_small_and_round_trips() -> None:
    d = Driver()
    for event in story()[:4]:
        d.apply(event)
    state = d.state_of(story()[0].subject.id)
    assert AlertState.from_json(state.to_json()) == state
    assert len(state.open) == len({u.rule for u in d.log if u.change == "opened"})
    assert len(state.to_json()) < 120 * len(state.open) + 100


def test_changes_are_listed_in_rule_order() -> None:
    updates = Driver().apply(listing(0))
    rules = [rule for rule, _ in changes(updates)]
    assert rules == [
        "dishonest_debtor_listed",
        "grade_downgrade",
        "score_drop",
        "first_negative_record",
    ]
