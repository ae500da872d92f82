"""``anomalous_deterioration``: a subject's record deteriorates unusually (异常恶化).

Yellow once the early-warning model's deterioration score (the half-space trees'
anomaly score of a subject's persisting accumulation of trouble,
:mod:`creditbrain.models.subject`) reaches ``threshold``; it resolves only below
``threshold - hysteresis`` and no sooner than ``hold_days`` after it opened;
undecided while the model has no opinion. 0.88 is the 90th percentile of the
trees' scores on a tuning city, rounded down (docs/models.md).

>>> DeteriorationThresholds().threshold
0.88
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

    The score is the half-space trees' anomaly score (0.88: the 90th percentile of
    its scores on a tuning city, rounded down; about 0.6 suits the 270-day regression
    a worker may run instead, docs/models.md).
    """

    threshold: Probability = 0.88
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
