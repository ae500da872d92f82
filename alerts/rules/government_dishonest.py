"""``government_dishonest``: a government body becomes a dishonest debtor (政务失信).

The plan's target is zero growth, so it has a rule of its own: red while a subject
of type ``government`` has a counting ``dishonest_debtor`` record; another listing
repeats the alert. Routed to the grid by default.

>>> from creditbrain.alerts.policy import default_policy
>>> listing = Record(0, "e1", "dishonest_debtor")
>>> policy = default_policy("government_dishonest")
>>> red_event(listing, SubjectType.GOVERNMENT, policy)
True
>>> red_event(listing, SubjectType.ENTERPRISE, policy)
False
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import News, Policy, Rule, Verdict, held
from creditbrain.alerts.transition import Facts
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while a government body has a counting ``dishonest_debtor`` record."""
    if facts.transition.subject_type is not SubjectType.GOVERNMENT:
        return None
    return held(facts, policy, facts.reasons_of("dishonest_debtor"), News.REPEAT)


def red_event(record: Record, subject_type: SubjectType, policy: Policy) -> bool:
    """A government body's listing is red while the rule's level is."""
    return subject_type is SubjectType.GOVERNMENT and policy.level == "red"


RULE = Rule(
    name="government_dishonest",
    order=3,
    level="red",
    check=check,
    grid=True,
    requires="dishonest_debtor",
    red_event=red_event,
)
