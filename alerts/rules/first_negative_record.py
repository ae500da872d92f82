"""``first_negative_record``: the first negative record of a clean subject (首次失信记录).

Blue when a subject of grade A without deductions gets one, until no deduction
counts any more (the open alert's *anchor*: the rank of A).

>>> RULE.level
'blue'
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Finding, News, Policy, Rule, Verdict
from creditbrain.alerts.transition import GRADE_RANK, Facts


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds from the first deduction of a clean grade-A subject until no deduction counts."""
    before = facts.before
    if anchor is None and before.grade != "A":
        return None
    deductions = facts.deductions
    if not deductions:
        return None
    if anchor is not None:
        return Finding(policy.level, deductions, News.NONE, anchor)
    if any([reason.effect < 0 for reason in before.reasons]):
        return None
    return Finding(policy.level, facts.new_deductions() or deductions, News.NONE, GRADE_RANK["A"])


RULE = Rule(name="first_negative_record", order=12, level="blue", check=check)
