"""``score_drop``: the credit score falls sharply (信用分骤降).

A rule about a change: orange when the score is ``points`` or more below its peak
within ``window_days`` (the peaks are kept by :mod:`creditbrain.alerts.history`);
it resolves when the score is back within ``points`` of that peak (the open
alert's *anchor*). Another drop of ``points`` at once repeats the alert, a smaller
further fall updates it.

>>> ScoreDropThresholds()
ScoreDropThresholds(points=100, window_days=30)
"""

from __future__ import annotations

from pydantic import PositiveInt

from creditbrain.alerts.history import peak
from creditbrain.alerts.rules.base import Finding, News, Policy, Rule, Thresholds, Verdict
from creditbrain.alerts.transition import Facts
from creditbrain.core.eventtime import DAY_MS


class ScoreDropThresholds(Thresholds):
    """Score fell by at least ``points`` within ``window_days``."""

    points: PositiveInt = 100
    window_days: PositiveInt = 30


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds from a drop of ``points`` within ``window_days`` until the score recovers."""
    points = policy.thresholds["points"]
    since = facts.transition.at_ms - int(policy.thresholds["window_days"] * DAY_MS)
    score, before = facts.after.score, facts.before.score
    if anchor is None:
        anchor = peak(facts.peaks, score, since)
    if score > anchor - points:
        return None
    news = News.REPEAT if before - score >= points else News.UPDATE if score < before else News.NONE
    if news is News.NONE:
        # Holding as before, the common case: spare the search for the drop's records.
        return Finding(policy.level, facts.deductions, news, anchor)
    fresh = facts.fresh
    causes = tuple(
        [
            reason
            for record, reason in facts.counting()
            if reason.effect < 0 and (record.occurred_at > since or reason.event_id in fresh)
        ]
    )
    return Finding(policy.level, causes or facts.deductions, news, anchor)


RULE = Rule(name="score_drop", order=6, level="orange", check=check, thresholds=ScoreDropThresholds)
