"""``grade_fell_to_D``: the credit grade falls to D (差).

Red while the grade is D (it opens when the grade becomes D); its reasons are the
counting deductions. Routed to the grid by default: D means key supervision and
joint punishment on the ground.

>>> RULE.name, RULE.level, RULE.grid
('grade_fell_to_D', 'red', True)
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Finding, News, Policy, Rule, Verdict
from creditbrain.alerts.transition import Facts


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while the grade is D."""
    if facts.after.grade != "D":
        return None
    return Finding(policy.level, facts.deductions, News.NONE)


RULE = Rule(name="grade_fell_to_D", order=4, level="red", check=check, grid=True)
