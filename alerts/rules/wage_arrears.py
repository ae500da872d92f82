"""``wage_arrears``: wages owed to workers (拖欠工资, 欠薪).

Orange while ``wage_arrears`` records count; red from ``red_workers`` workers
affected by one of them. A new report updates the alert without re-sending it.
Routed to the grid by default: the workers are helped on the ground.

A record with ``red_workers`` or more workers is also a *red event* for the
early-warning models, under the policy in force for the subject's sector and
district:

>>> from creditbrain.alerts.policy import default_policy
>>> policy = default_policy("wage_arrears")
>>> report = Record(0, "e1", "wage_arrears", quantity=5)
>>> red_event(report, SubjectType.ENTERPRISE, policy)
False
>>> lowered = policy.model_copy(update={"thresholds": {"red_workers": 3}})
>>> red_event(report, SubjectType.ENTERPRISE, lowered)
True
"""

from __future__ import annotations

from pydantic import NonNegativeInt

from creditbrain.alerts.rules.base import Finding, News, Policy, Rule, Thresholds, Verdict
from creditbrain.alerts.transition import Facts
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record


class WageArrearsThresholds(Thresholds):
    """Wage arrears are red from ``red_workers`` workers affected, else the rule's level."""

    red_workers: NonNegativeInt = 10


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while wage arrears count; red from ``red_workers`` workers affected."""
    reports = facts.counting_of("wage_arrears")
    if not reports:
        return None
    level = policy.level
    red_workers = policy.thresholds["red_workers"]
    if any([(record.quantity or 0) >= red_workers for record, _ in reports]):
        level = "red"
    causes = tuple([reason for _, reason in reports])
    return Finding(level, causes, News.UPDATE if facts.any_fresh(causes) else News.NONE)


def red_event(record: Record, subject_type: SubjectType, policy: Policy) -> bool:
    """Red from ``red_workers`` workers affected (or at any count if the level is red)."""
    return policy.level == "red" or (record.quantity or 0) >= policy.thresholds["red_workers"]


RULE = Rule(
    name="wage_arrears",
    order=8,
    level="orange",
    check=check,
    thresholds=WageArrearsThresholds,
    grid=True,
    requires="wage_arrears",
    red_event=red_event,
)
