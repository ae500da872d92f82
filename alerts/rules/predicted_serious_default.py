"""``predicted_serious_default``: a serious breach of trust is predicted (严重失信风险预测).

Yellow once the predicted probability of a red event within 90 days
(:mod:`creditbrain.models.subject`) reaches ``probability``; it resolves only when
the probability falls below ``probability - hysteresis``, and no sooner than
``hold_days`` after it opened, so a probability wavering around the threshold gives
one warning, not one per wobble. Undecided while the model has no opinion.

>>> DefaultProbabilityThresholds().probability
0.5
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import (
    NonNegative,
    Policy,
    Probability,
    Rule,
    Thresholds,
    Verdict,
    model_says,
)
from creditbrain.alerts.transition import Facts


class DefaultProbabilityThresholds(Thresholds):
    """Predicted probability of a red event within 90 days at or above ``probability``."""

    probability: Probability = 0.5
    #: An open warning resolves only this much below the opening threshold ...
    hysteresis: Probability = 0.15
    #: ... and no sooner than this many days after it opened (event time).
    hold_days: NonNegative = 30


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while the predicted probability is high enough."""
    value = facts.transition.default_probability
    thresholds = policy.thresholds
    return model_says(
        facts,
        policy,
        value,
        thresholds["probability"],
        anchor,
        thresholds["probability"] - thresholds["hysteresis"],
        thresholds["hold_days"],
    )


RULE = Rule(
    name="predicted_serious_default",
    order=11,
    level="yellow",
    check=check,
    thresholds=DefaultProbabilityThresholds,
)
