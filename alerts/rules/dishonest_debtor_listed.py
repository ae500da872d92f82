"""``dishonest_debtor_listed``: a subject is listed as a dishonest debtor (失信被执行人).

Red while a ``dishonest_debtor`` record counts; another listing repeats the alert.
Routed to the grid by default: joint punishment is applied on the ground.

>>> RULE.level, RULE.grid, RULE.requires
('red', True, 'dishonest_debtor')
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import News, Policy, Rule, Verdict, held
from creditbrain.alerts.transition import Facts
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while a ``dishonest_debtor`` record counts."""
    return held(facts, policy, facts.reasons_of("dishonest_debtor"), News.REPEAT)


def red_event(record: Record, subject_type: SubjectType, policy: Policy) -> bool:
    """Every listing is red while the rule's level is."""
    return policy.level == "red"


RULE = Rule(
    name="dishonest_debtor_listed",
    order=1,
    level="red",
    check=check,
    grid=True,
    requires="dishonest_debtor",
    red_event=red_event,
)
