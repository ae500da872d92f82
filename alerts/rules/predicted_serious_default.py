"""``predicted_serious_default``: a serious breach of trust is predicted (严重失信风险预测).

Yellow while the predicted probability of a red event within 90 days
(:mod:`creditbrain.models.subject`) is at or above ``probability``; undecided
while the model has no opinion.

>>> DefaultProbabilityThresholds().probability
0.5
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Policy, Probability, Rule, Thresholds, Verdict, model_says
from creditbrain.alerts.transition import Facts


class DefaultProbabilityThresholds(Thresholds):
    """Predicted probability of a red event within 90 days at or above ``probability``."""

    probability: Probability = 0.5


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while the predicted probability is high enough."""
    value = facts.transition.default_probability
    return model_says(facts, policy, value, policy.thresholds["probability"])


RULE = Rule(
    name="predicted_serious_default",
    order=11,
    level="yellow",
    check=check,
    thresholds=DefaultProbabilityThresholds,
)
