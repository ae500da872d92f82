"""``metric_anomaly``: a city-level series behaves anomalously (系统性风险).

About a sector × district × kind series, not a subject, so it has no check on a
transition: the series detector (:mod:`creditbrain.models.series`) scores each
day's count and :func:`creditbrain.alerts.metric.judge_metric` warns, orange by
default, when :func:`anomalous` says so, and resolves the warning once the series
has been calm (not anomalous) for a few days in a row.

>>> from creditbrain.alerts.policy import default_policy
>>> policy = default_policy("metric_anomaly")
>>> anomalous(0.97, policy), anomalous(0.9, policy)
(True, False)
"""

from __future__ import annotations

from creditbrain.alerts.rules.base import Policy, Probability, Rule, Thresholds


class AnomalyThresholds(Thresholds):
    """A model's anomaly score in [0, 1] at or above ``threshold``."""

    threshold: Probability = 0.95


def anomalous(anomaly_score: float, policy: Policy) -> bool:
    """Whether a series' anomaly score warns under ``policy``."""
    return anomaly_score >= policy.thresholds["threshold"]


RULE = Rule(
    name="metric_anomaly", order=13, level="orange", check=None, thresholds=AnomalyThresholds
)
