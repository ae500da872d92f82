"""``anomalous_deterioration``: a subject's record deteriorates unusually (异常恶化).

Yellow once the early-warning model's deterioration score (the probability of a
red event within 270 days, :mod:`creditbrain.models.subject`) reaches ``threshold``;
it resolves only below ``threshold - hysteresis`` and no sooner than ``hold_days``
after it opened; undecided while the model has no opinion. 0.6 is the value the
tuning cities support (docs/models.md).

>>> DeteriorationThresholds().threshold
0.6
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


class DeteriorationThresholds(Thresholds):
    """The subject model's deterioration score in [0, 1] at or above ``threshold``.

    The score is the probability of a red event within 270 days; 0.6 is the value the
    tuning cities support (docs/models.md).
    """

    threshold: Probability = 0.6
    #: An open warning resolves only this much below the opening threshold ...
    hysteresis: Probability = 0.15
    #: ... and no sooner than this many days after it opened (event time).
    hold_days: NonNegative = 30


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while the model scores the subject at or above ``threshold``."""
    value = facts.transition.anomaly_score
    thresholds = policy.thresholds
    return model_says(
        facts,
        policy,
        value,
        thresholds["threshold"],
        anchor,
        thresholds["threshold"] - thresholds["hysteresis"],
        thresholds["hold_days"],
    )


RULE = Rule(
    name="anomalous_deterioration",
    order=10,
    level="yellow",
    check=check,
    thresholds=DeteriorationThresholds,
)
