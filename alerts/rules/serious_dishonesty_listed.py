"""``serious_dishonesty_listed``: on the serious-dishonesty list (严重失信主体名单).

Red while a ``list_entry`` with label ``serious_dishonesty`` counts; another entry
repeats the alert. Routed to the grid by default.

>>> from creditbrain.alerts.policy import default_policy
>>> policy = default_policy("serious_dishonesty_listed")
>>> entry = Record(0, "e1", "list_entry", "serious_dishonesty")
>>> red_event(entry, SubjectType.ENTERPRISE, policy)
True
>>> red_event(entry._replace(label="key_attention"), SubjectType.ENTERPRISE, policy)
False
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import News, Policy, Rule, Verdict, held
from creditbrain.alerts.transition import Facts
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record

LABEL = "serious_dishonesty"


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while an entry on the serious-dishonesty list counts."""
    entries = facts.counting_of("list_entry")
    causes = [r for rec, r in entries if rec.label == LABEL]
    return held(facts, policy, causes, News.REPEAT)


def red_event(record: Record, subject_type: SubjectType, policy: Policy) -> bool:
    """An entry on this list is red while the rule's level is."""
    return record.label == LABEL and policy.level == "red"


RULE = Rule(
    name="serious_dishonesty_listed",
    order=2,
    level="red",
    check=check,
    grid=True,
    requires="list_entry",
    red_event=red_event,
)
