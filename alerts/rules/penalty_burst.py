"""``penalty_burst``: administrative penalties in quick succession (行政处罚频发).

Yellow while ``count`` counting penalties fall within ``window_days`` of each
other; its reasons are the penalties of every such burst. Another penalty of a
burst repeats the alert.

>>> PenaltyBurstThresholds()
PenaltyBurstThresholds(count=3, window_days=90)
"""

from __future__ import annotations

from pydantic import PositiveInt

from creditbrain.alerts.rules.base import News, Policy, Rule, Thresholds, Verdict, held
from creditbrain.alerts.transition import Facts
from creditbrain.core.eventtime import DAY_MS


class PenaltyBurstThresholds(Thresholds):
    """At least ``count`` counting penalties within ``window_days``."""

    count: PositiveInt = 3
    window_days: PositiveInt = 90


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while ``count`` counting penalties fall within ``window_days``."""
    count = int(policy.thresholds["count"])
    if len(facts.reasons_of("penalty")) < count:
        return None
    penalties = facts.counting_of("penalty")
    window = policy.thresholds["window_days"] * DAY_MS
    in_burst = [False] * len(penalties)
    left = 0
    for right, (record, _) in enumerate(penalties):
        while record.occurred_at - penalties[left][0].occurred_at >= window:
            left += 1
        if right - left + 1 >= count:
            in_burst[left : right + 1] = [True] * (right - left + 1)
    causes = [r for (_, r), hit in zip(penalties, in_burst, strict=True) if hit]
    return held(facts, policy, causes, News.REPEAT)


RULE = Rule(
    name="penalty_burst",
    order=9,
    level="yellow",
    check=check,
    thresholds=PenaltyBurstThresholds,
    requires="penalty",
)
