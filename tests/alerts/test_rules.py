"""Every default rule of DOMAIN.md fires, repeats and resolves as the table says.

Scenarios run through :class:`~tests.alerts.driver.Driver`, which applies real
events with the scorecard and judges every re-scoring, publicity expiries
included, as the stream does.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from creditbrain.alerts import AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.schemas.events import CreditEvent, SubjectType
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.schemas.warnings import format_time
from tests.alerts.driver import Driver, changes, ms, of_rule, only
from tests.strategies import DAY, make_event

MS = timedelta(milliseconds=1)


def ev(kind: str, payload: dict[str, Any] | None = None, day: float = 0, **kw: Any) -> CreditEvent:
    return make_event(kind, payload, at=day * DAY, **kw)


def penalty(day: float, severity: str = "general", **kw: Any) -> CreditEvent:
    return ev("penalty", {"decision_no": "D", "severity": severity}, day, **kw)


def arrears(kind: str, quantity: int, day: float, **kw: Any) -> CreditEvent:
    field = "workers_affected" if kind == "wage_arrears" else "months_overdue"
    return ev(kind, {"amount_cny": 10_000, field: quantity}, day, **kw)


def repair(target: CreditEvent, day: float) -> CreditEvent:
    return ev("repair", {"ref_event_id": str(target.event_id)}, day)


def reasons(update: AlertUpdate) -> list[tuple[str, str, int]]:
    return [(r["event_id"], r["kind"], r["effect"]) for r in update.doc["data"]["reasons"]]


def rules_opened(updates: list[AlertUpdate]) -> set[str]:
    return {u.rule for u in updates if u.change == "opened"}


# --- listings ---------------------------------------------------------------------------------


def test_dishonest_debtor_opens_repeats_and_resolves_when_every_listing_is_removed() -> None:
    d = Driver()
    first = ev("dishonest_debtor", day=1)
    opened = only(d.apply(first), "dishonest_debtor_listed")
    assert (opened.change, opened.notify, opened.grid) == ("opened", True, True)
    assert opened.doc["data"]["level"] == "red"
    assert reasons(opened) == [(str(first.event_id), "dishonest_debtor", -200)]
    assert opened.doc["data"]["first_event_at"] == format_time(ms(DAY))

    second = ev("dishonest_debtor", {"case_no": "C-2"}, day=3)
    repeat = only(d.apply(second), "dishonest_debtor_listed")
    assert (repeat.change, repeat.notify, repeat.alert_id) == ("updated", False, opened.alert_id)
    third = ev("dishonest_debtor", {"case_no": "C-3"}, day=9)
    reminder = only(d.apply(third), "dishonest_debtor_listed")
    assert (reminder.change, reminder.notify) == ("updated", True)
    assert reminder.doc["type"] == "cn.creditbrain.warning.opened"

    assert not of_rule(d.apply(repair(first, 20)), "dishonest_debtor_listed")
    assert not of_rule(d.apply(repair(second, 21)), "dishonest_debtor_listed")
    last = repair(third, 22)
    resolved = only(d.apply(last), "dishonest_debtor_listed")
    assert (resolved.change, resolved.alert_id) == ("resolved", opened.alert_id)
    assert resolved.doc["data"]["status"] == "resolved"
    assert reasons(resolved) == [(str(last.event_id), "repair", 0)]


def test_an_upheld_objection_resolves_a_listing() -> None:
    d = Driver()
    listing = ev("dishonest_debtor", day=1)
    d.apply(listing)
    objection = ev("objection", {"ref_event_id": str(listing.event_id), "status": "upheld"}, 2)
    assert ("dishonest_debtor_listed", "resolved") in changes(d.apply(objection))


def test_serious_dishonesty_list_only_and_until_exit() -> None:
    d = Driver()
    assert "serious_dishonesty_listed" not in rules_opened(
        d.apply(ev("list_entry", {"list": "key_attention"}, 1))
    )
    opened = only(
        d.apply(ev("list_entry", {"list": "serious_dishonesty"}, 2)), "serious_dishonesty_listed"
    )
    assert opened.doc["data"]["level"] == "red"
    exit_ = ev("list_exit", {"list": "serious_dishonesty"}, 30)
    assert only(d.apply(exit_), "serious_dishonesty_listed").change == "resolved"


def test_serious_dishonesty_resolves_when_its_three_years_end() -> None:
    d = Driver()
    d.apply(ev("list_entry", {"list": "serious_dishonesty"}, 0))
    assert not d.advance(1095 * DAY - MS)
    resolved = only(d.advance(1095 * DAY), "serious_dishonesty_listed")
    assert resolved.change == "resolved"
    assert reasons(resolved) == []  # a publicity expiry has no event
    assert resolved.doc["time"] == format_time(ms(1095 * DAY))


def test_government_dishonest_only_for_government_bodies() -> None:
    code = generate_credit_code(random.Random(3))
    gov = Driver().apply(
        ev("dishonest_debtor", subject_id=code, subject_type=SubjectType.GOVERNMENT)
    )
    assert {"government_dishonest", "dishonest_debtor_listed"} <= rules_opened(gov)
    assert only(gov, "government_dishonest").doc["data"]["subject"]["type"] == "government"
    firm = Driver().apply(ev("dishonest_debtor"))
    assert "government_dishonest" not in rules_opened(firm)


# --- grades and score -------------------------------------------------------------------------


def test_grade_fell_to_d_while_d() -> None:
    d = Driver()
    d.apply(ev("dishonest_debtor", day=1))  # 800, B
    fell = only(d.apply(ev("list_entry", {"list": "serious_dishonesty"}, 2)), "grade_fell_to_D")
    data = fell.doc["data"]
    assert (data["score"], data["grade"], data["previous_grade"]) == (500, "D", "B")
    assert not of_rule(d.apply(penalty(3)), "grade_fell_to_D")  # still D: nothing new
    resolved = only(d.apply(ev("list_exit", {"list": "serious_dishonesty"}, 4)), "grade_fell_to_D")
    assert resolved.change == "resolved"


def test_grade_downgrade_resolves_back_at_the_grade_it_fell_from() -> None:
    d = Driver()
    listing = ev("dishonest_debtor", day=1)
    opened = only(d.apply(listing), "grade_downgrade")  # A -> B (a new subject counts as A)
    assert opened.doc["data"]["previous_grade"] == "A"
    restriction = ev("consumption_restriction", day=2)
    further = only(d.apply(restriction), "grade_downgrade")  # B -> C: a repeat
    assert (further.change, further.notify) == ("updated", False)
    assert not of_rule(d.apply(ev("judgment", day=10)), "grade_downgrade")  # C stays C
    assert not of_rule(d.apply(repair(listing, 20)), "grade_downgrade")  # 890: B, not yet A
    resolved = only(d.apply(repair(restriction, 21)), "grade_downgrade")  # 970: A
    assert (resolved.change, resolved.alert_id) == ("resolved", opened.alert_id)


@pytest.mark.parametrize(("months", "fires"), [(9, False), (10, True)])
def test_score_drop_of_100_at_once(months: int, fires: bool) -> None:
    updates = Driver().apply(arrears("social_insurance_arrears", months, 1))
    assert ("score_drop" in rules_opened(updates)) is fires


def test_score_drop_counts_from_the_highest_score_within_30_days() -> None:
    d = Driver()
    assert "score_drop" not in rules_opened(d.apply(penalty(0, "serious")))  # 940
    assert "score_drop" not in rules_opened(d.apply(penalty(40, "serious")))  # 880: 60 in 30 days
    third = penalty(50, "serious")  # 820: the 940 held until day 40, within the window
    opened = only(d.apply(third), "score_drop")
    assert opened.doc["data"]["score"] == 820
    assert (str(third.event_id), "penalty", -60) in reasons(opened)


def test_score_drop_stays_open_until_the_score_recovers() -> None:
    d = Driver()
    listing = ev("dishonest_debtor", day=0)
    opened = only(d.apply(listing), "score_drop")
    assert not of_rule(d.apply(ev("license", day=100)), "score_drop")  # long after the window
    assert only(d.apply(penalty(101)), "score_drop").notify is False  # a small fall: stored only
    resolved = only(d.apply(repair(listing, 102)), "score_drop")
    assert (resolved.change, resolved.alert_id) == ("resolved", opened.alert_id)


def test_score_drop_small_fall_is_stored_and_a_new_big_drop_repeats() -> None:
    d = Driver()
    d.apply(ev("dishonest_debtor", day=0))
    small = only(d.apply(penalty(1)), "score_drop")
    assert (small.change, small.notify) == ("updated", False)
    big = only(d.apply(ev("dishonest_debtor", {"case_no": "C-2"}, day=10)), "score_drop")
    assert (big.change, big.notify) == ("updated", True)


# --- arrears -----------------------------------------------------------------------------------


def test_social_insurance_arrears_from_three_months() -> None:
    d = Driver()
    assert "social_insurance_arrears_3m" not in rules_opened(
        d.apply(arrears("social_insurance_arrears", 2, 1))
    )
    opened = only(
        d.apply(arrears("social_insurance_arrears", 3, 30)), "social_insurance_arrears_3m"
    )
    assert opened.doc["data"]["level"] == "orange"
    report = only(
        d.apply(arrears("social_insurance_arrears", 4, 60)), "social_insurance_arrears_3m"
    )
    assert (report.change, report.notify) == ("updated", False)  # the same arrears, reported again
    cleared = ev("arrears_cleared", {"ref_kind": "social_insurance_arrears"}, 90)
    assert only(d.apply(cleared), "social_insurance_arrears_3m").change == "resolved"


def test_social_insurance_arrears_resolve_when_a_later_report_is_below_the_threshold() -> None:
    d = Driver()
    d.apply(arrears("social_insurance_arrears", 5, 1))
    later = d.apply(arrears("social_insurance_arrears", 1, 40))
    assert only(later, "social_insurance_arrears_3m").change == "resolved"


def test_wage_arrears_orange_then_red_from_ten_workers_never_lowered() -> None:
    d = Driver()
    opened = only(d.apply(arrears("wage_arrears", 5, 1)), "wage_arrears")
    assert opened.doc["data"]["level"] == "orange"
    escalated = only(d.apply(arrears("wage_arrears", 12, 3)), "wage_arrears")
    assert (escalated.change, escalated.notify, escalated.alert_id) == (
        "escalated",
        True,
        opened.alert_id,
    )
    assert escalated.doc["type"] == "cn.creditbrain.warning.escalated"
    assert escalated.doc["data"]["status"] == "escalated"
    assert escalated.doc["data"]["level"] == "red"
    lower = only(d.apply(arrears("wage_arrears", 3, 30)), "wage_arrears")
    assert (lower.change, lower.notify, lower.doc["data"]["level"]) == ("updated", False, "red")
    cleared = ev("arrears_cleared", {"ref_kind": "wage_arrears"}, 40)
    assert only(d.apply(cleared), "wage_arrears").change == "resolved"


def test_wage_arrears_of_ten_workers_open_red() -> None:
    assert (
        only(Driver().apply(arrears("wage_arrears", 10, 1)), "wage_arrears").doc["data"]["level"]
        == "red"
    )


# --- penalty burst -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "fires"),
    [((0, 30, 60), True), ((0, 50, 100), False), ((0, 45, 90), False), ((0, 45, 89.99), True)],
)
def test_penalty_burst_three_within_90_days(days: tuple[float, ...], fires: bool) -> None:
    d = Driver()
    updates = [u for day in days for u in d.apply(penalty(day))]
    assert ("penalty_burst" in rules_opened(updates)) is fires


def test_penalty_burst_lists_the_burst_and_resolves_when_a_penalty_expires() -> None:
    d = Driver()
    events = [penalty(day) for day in (0, 30, 60)]
    for event in events[:2]:
        d.apply(event)
    opened = only(d.apply(events[2]), "penalty_burst")
    assert opened.doc["data"]["level"] == "yellow"
    assert [r[0] for r in reasons(opened)] == [str(e.event_id) for e in events]
    assert not opened.grid
    repeat = only(d.apply(penalty(70)), "penalty_burst")  # a fourth: a new cause
    assert (repeat.change, repeat.notify) == ("updated", True)  # 10 days after opening
    assert not of_rule(d.advance(365 * DAY), "penalty_burst")  # days 30, 60, 70 still a burst
    assert only(d.advance(395 * DAY), "penalty_burst").change == "resolved"


def test_simple_penalties_never_count_towards_a_burst() -> None:
    d = Driver()
    updates = [u for day in (0, 1, 2) for u in d.apply(penalty(day, "simple"))]
    assert updates == []


# --- models ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "argument", "threshold"),
    [
        ("anomalous_deterioration", "anomaly", 0.88),
        ("predicted_serious_default", "probability", 0.5),
    ],
)
def test_model_rules_follow_the_model(rule: str, argument: str, threshold: float) -> None:
    d = Driver()
    assert not d.apply(ev("license", day=1), **{argument: threshold - 0.01})
    opened = only(d.apply(ev("license", day=2), **{argument: threshold}), rule)
    assert (opened.change, opened.doc["data"]["level"]) == ("opened", "yellow")
    assert not d.apply(ev("license", day=3))  # no output: undecided, the alert stays
    assert not d.apply(ev("license", day=4), **{argument: 0.99})  # still: nothing new
    # Hysteresis and a minimum time: low again after 3 days, it holds for 30 days ...
    assert not d.apply(ev("license", day=5), **{argument: 0.1})
    # ... and after them, only below the threshold less the hysteresis (0.15).
    assert not d.apply(ev("license", day=33), **{argument: threshold - 0.1})
    assert only(d.apply(ev("license", day=34), **{argument: 0.1}), rule).change == "resolved"


def test_an_oscillating_model_opens_one_warning() -> None:
    d = Driver()
    opened = []
    for day in range(1, 121):
        probability = 0.55 if day % 2 else 0.45  # around the threshold, every day
        opened += [u for u in d.apply(ev("license", day=day), probability=probability)]
    changes = [u.change for u in of_rule(opened, "predicted_serious_default")]
    assert changes == ["opened"]


def test_model_threshold_follows_the_policy() -> None:
    policies = PolicySet.model_validate(
        {
            "overrides": {
                "*": {"rules": {"anomalous_deterioration": {"thresholds": {"threshold": 0.5}}}}
            }
        }
    )
    updates = Driver(policies).apply(ev("license", day=1), anomaly=0.6)
    assert rules_opened(updates) == {"anomalous_deterioration"}


# --- first negative record ---------------------------------------------------------------------


def test_first_negative_record_of_a_clean_a_subject_until_no_deduction_counts() -> None:
    d = Driver()
    d.apply(ev("commendation", day=0))
    first = penalty(10)
    opened = only(d.apply(first), "first_negative_record")
    assert opened.doc["data"]["level"] == "blue"
    assert reasons(opened) == [(str(first.event_id), "penalty", -20)]
    assert not of_rule(d.apply(penalty(200)), "first_negative_record")  # not the first
    assert not of_rule(d.advance(375 * DAY), "first_negative_record")  # the second still counts
    resolved = only(d.advance(565 * DAY), "first_negative_record")
    assert resolved.change == "resolved"
    again = only(d.apply(penalty(600)), "first_negative_record")  # clean again: a new alert
    assert again.change == "opened" and again.alert_id != opened.alert_id


def test_first_negative_record_needs_a_clean_record() -> None:
    off = PolicySet.model_validate(
        {"overrides": {"*": {"rules": {"first_negative_record": {"enabled": False}}}}}
    )
    d = Driver(off)
    d.apply(penalty(0))
    d.policies = PolicySet()
    assert not of_rule(d.apply(penalty(10)), "first_negative_record")
