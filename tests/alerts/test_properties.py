"""Properties of the lifecycle over any history of a subject, in any arrival order."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditbrain.alerts import AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.schemas.events import CreditEvent
from creditbrain.schemas.warnings import LEVEL_RANK, WarningEvent
from tests.alerts.driver import Driver
from tests.strategies import DAY, arrival_orders, events_for_subject

PROPERTY = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
model_output = st.none() | st.floats(0, 1)
# Short cooldowns and low thresholds make repeats, escalations and model alerts likely.
POLICIES = PolicySet.model_validate(
    {
        "overrides": {
            "*": {
                "rules": {
                    "wage_arrears": {"thresholds": {"red_workers": 250}, "cooldown_days": 3},
                    "dishonest_debtor_listed": {"cooldown_days": 1},
                    "anomalous_deterioration": {"thresholds": {"threshold": 0.5}},
                }
            }
        }
    }
)


# A dense mix over a few months: bursts, repeats within the cooldown, escalations.
DENSE = ("penalty", "wage_arrears", "arrears_cleared", "dishonest_debtor", "repair", "objection")


@st.composite
def runs(draw: st.DrawFn) -> list[tuple[CreditEvent, float | None, float | None]]:
    if draw(st.booleans()):
        history = draw(events_for_subject(max_size=14, span=3 * 365 * DAY))
    else:
        history = draw(events_for_subject(max_size=14, kinds=DENSE, span=120 * DAY))
    order = draw(arrival_orders(history))
    return [(event, draw(model_output), draw(model_output)) for event in order]


def play(run: list[tuple[CreditEvent, Any, Any]], persist: bool = False) -> Driver:
    driver = Driver(POLICIES, persist=persist)
    for event, anomaly, probability in run:
        driver.apply(event, anomaly=anomaly, probability=probability, must_apply=False)
    driver.advance(10 * 365 * DAY)
    return driver


def check_lifecycle(log: list[AlertUpdate]) -> dict[str, str]:
    """Follow every alert through the log; the alerts still open, by rule."""
    open_by_rule: dict[str, str] = {}
    level_of: dict[str, int] = {}
    seen: set[str] = set()
    for update in log:
        rule, alert = update.rule, update.alert_id
        level = LEVEL_RANK[update.doc["data"]["level"]]
        if update.change == "opened":
            assert rule not in open_by_rule, f"second open alert for {rule}"
            assert alert not in seen, "an alert id opened twice"
            open_by_rule[rule] = alert
            seen.add(alert)
        else:
            assert open_by_rule.get(rule) == alert, f"{update.change} of an alert not open"
            assert level >= level_of[alert], "an alert's level went down"
            if update.change == "escalated":
                assert level > level_of[alert]
            if update.change == "resolved":
                del open_by_rule[rule]
        level_of[alert] = level
    return open_by_rule


@PROPERTY
@given(runs())
def test_one_open_alert_per_rule_and_every_resolution_was_opened(run: Any) -> None:
    driver = play(run)
    still_open = check_lifecycle(driver.log)
    subject = run[0][0].subject.id
    state = driver.state_of(subject)
    assert {rule: a.alert_id for rule, a in state.open.items()} == still_open
    for update in driver.log:
        assert WarningEvent.from_bytes(update.body).to_bytes() == update.body
        assert update.grid_body is None or update.grid


@PROPERTY
@given(runs())
def test_replaying_a_history_gives_identical_updates(run: Any) -> None:
    live = play(run).log
    assert play(run).log == live
    assert [u.body for u in play(run, persist=True).log] == [u.body for u in live]
