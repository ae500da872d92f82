"""``grade_downgrade``: the credit grade falls one or more classes (信用等级下调).

A rule about a change, not a state: orange from a fall of the grade until the grade
is back at or above the grade it fell from (the open alert's *anchor*: that grade's
rank). A further fall while open repeats the alert.

>>> RULE.level, RULE.grid
('orange', False)
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Finding, News, Policy, Rule, Verdict
from creditbrain.alerts.transition import GRADE_RANK, Facts


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds from a fall of the grade until it is back where it fell from."""
    before, after = GRADE_RANK[facts.before.grade], GRADE_RANK[facts.after.grade]
    fell = after < before
    if anchor is None:
        if not fell:
            return None
        anchor = before
    elif after >= anchor:
        return None
    causes = (facts.new_deductions() if fell else ()) or facts.deductions
    return Finding(policy.level, causes, News.REPEAT if fell else News.NONE, anchor)


RULE = Rule(name="grade_downgrade", order=5, level="orange", check=check)
