"""The honest definitions of a warning's worth: true only if a red event follows in time.

What a replay leaves (:class:`Observed`: the warnings each method opened per subject,
the subjects' red events and first signs of trouble, the 90-day predictions) is scored
per method and horizon ``H`` (90, 180 and 365 days):

* a *red event* is a record that alone makes a red rule warn
  (:func:`creditbrain.models.features.is_red`);
* a warning opened at or after the subject's first red event is a detection, not
  counted; before it, the warning is *early*;
* an early warning is *true* at ``H`` when the first red event follows within ``H``
  days; *false* when it follows later, or when the subject has no red event and the
  span ran on for ``H`` days after the warning; otherwise (no red event yet, fewer
  than ``H`` days left) it is *censored*: unknown, left out of the precision;
* precision = true / (true + false), over every early warning opened;
* recall is over the red subjects that had a *precursor*: a record of trouble
  (penalty, judgment, arrears, listing) that is not itself red, before the first red
  event; the *ceiling* is their share of all red subjects (a subject whose first
  record is red can be warned by nobody). Recall at ``H`` = the share of them with a
  warning opened within the ``H`` days before their first red event;
* lead = days from the earliest such warning to the first red event, median over the
  recalled subjects;
* false alarms = warnings opened for healthy subjects (no red event in the span), per
  1,000 healthy subjects per 30 days of the span.

A ``keep`` set restricts everything to some subjects (a city as if only some kinds of
decline existed: the held-out story kinds, plus every subject without a decline).

>>> DAY = 86_400_000
>>> seen = Observed(0, 400 * DAY, reds={"a": [200 * DAY], "b": [300 * DAY]},
...                 precursor={"a": 10 * DAY, "b": 20 * DAY})
>>> seen.subjects.update(("a", "b", "h1", "h2"))
>>> opened = {"a": [150 * DAY], "b": [60 * DAY], "h1": [30 * DAY], "h2": [390 * DAY]}
>>> o = score("m", opened, seen, 90)
>>> (o.true, o.false, o.censored, o.recall, o.median_lead_days)
(1, 2, 1, 0.5, 50.0)
>>> score("m", opened, seen, 365).precision
0.6666666666666666
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from creditbrain.core.eventtime import DAY_MS

__all__ = [
    "HEADLINE_HORIZON",
    "HORIZONS",
    "Observed",
    "Outcome",
    "calibration",
    "merged",
    "score",
]

#: Horizons (days) within which a red event makes a warning true.
HORIZONS = (90, 180, 365)
#: The horizon of the headline figures (the acceptance bars are set at it).
HEADLINE_HORIZON = 180
_MONTH_MS = 30 * DAY_MS


@dataclass
class Observed:
    """What one replay left that the figures need (times are epoch ms of event time)."""

    start_ms: int
    end_ms: int
    #: Subject id -> times of its red events.
    reds: dict[str, list[int]] = field(default_factory=dict)
    #: Subject id -> time of its first record of trouble that was not red.
    precursor: dict[str, int] = field(default_factory=dict)
    #: Every subject with at least one applied record.
    subjects: set[str] = field(default_factory=set)
    #: Method -> subject id -> times of the warnings of that method opened for it.
    warnings: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: ``(subject, at_ms, P(red within 90 days))`` of the model's predictions.
    predictions: list[tuple[str, int, float]] = field(default_factory=list)

    def first_red(self, subject_id: str) -> int | None:
        """The subject's first red event, if any."""
        reds = self.reds.get(subject_id)
        return min(reds) if reds else None

    def forewarnable(self, keep: Collection[str] | None = None) -> tuple[set[str], int]:
        """Red subjects with a precursor (the recall's base), and the number of red subjects."""
        red = [s for s in self.reds if keep is None or s in keep]
        base = set()
        for subject_id in red:
            sign = self.precursor.get(subject_id)
            first_red = self.first_red(subject_id)
            if sign is not None and first_red is not None and sign < first_red:
                base.add(subject_id)
        return base, len(red)


@dataclass(frozen=True)
class Outcome:
    """Subject-level warning figures of one method at one horizon."""

    method: str
    horizon_days: int
    warned: int
    true: int
    false: int
    censored: int
    precision: float | None
    recall: float | None
    ceiling: float | None
    median_lead_days: float | None
    false_alarms: int
    false_per_1000_healthy_month: float


def score(
    method: str,
    warnings: Mapping[str, Sequence[int]],
    seen: Observed,
    horizon_days: int,
    keep: Collection[str] | None = None,
) -> Outcome:
    """The figures of ``warnings`` at ``horizon_days`` (definitions in the module doc)."""
    horizon = horizon_days * DAY_MS
    base, red_total = seen.forewarnable(keep)
    early = true = false = censored = alarms = 0
    leads: list[float] = []
    for subject_id, times in warnings.items():
        if keep is not None and subject_id not in keep:
            continue
        red_at = seen.first_red(subject_id)
        lead = None
        for warned_at in times:
            if red_at is not None and warned_at >= red_at:
                continue
            early += 1
            if red_at is None:
                alarms += 1
                if warned_at + horizon <= seen.end_ms:
                    false += 1
                else:
                    censored += 1
            elif red_at - warned_at <= horizon:
                true += 1
                if lead is None or red_at - warned_at > lead:
                    lead = red_at - warned_at
            else:
                false += 1
        if lead is not None and subject_id in base:
            leads.append(lead / DAY_MS)
    healthy = sum(1 for s in seen.subjects if s not in seen.reds and (keep is None or s in keep))
    months = (seen.end_ms - seen.start_ms) / _MONTH_MS
    return Outcome(
        method,
        horizon_days,
        early,
        true,
        false,
        censored,
        true / (true + false) if true + false else None,
        len(leads) / len(base) if base else None,
        len(base) / red_total if red_total else None,
        statistics.median(leads) if leads else None,
        alarms,
        alarms / (healthy / 1000) / months if healthy and months > 0 else 0.0,
    )


def merged(*methods: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """The warnings of several methods together, per subject in time order.

    >>> merged({"a": [5], "b": [1]}, {"a": [3, 7], "c": [9]})
    {'a': [3, 5, 7], 'b': [1], 'c': [9]}
    """
    together: dict[str, list[int]] = {}
    for method in methods:
        for subject_id, times in method.items():
            together.setdefault(subject_id, []).extend(times)
    return {subject_id: sorted(times) for subject_id, times in together.items()}


def calibration(seen: Observed, bins: int = 10, horizon_days: int = 90) -> dict[str, Any]:
    """Brier score, expected calibration error and reliability table of the predictions.

    Only predictions whose horizon lies within the span are judged (the others'
    labels are unknown).
    """
    horizon = horizon_days * DAY_MS
    pairs = []
    for subject_id, at_ms, probability in seen.predictions:
        if at_ms + horizon > seen.end_ms:
            continue
        reds = seen.reds.get(subject_id, ())
        label = any(at_ms < red <= at_ms + horizon for red in reds)
        pairs.append((probability, 1.0 if label else 0.0))
    if not pairs:
        return {"n": 0}
    n = len(pairs)
    base_rate = sum(y for _, y in pairs) / n
    table: list[dict[str, float]] = []
    ece = 0.0
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [(p, y) for p, y in pairs if low <= p < high or (index == bins - 1 and p == 1)]
        if not members:
            continue
        mean_p = sum(p for p, _ in members) / len(members)
        rate = sum(y for _, y in members) / len(members)
        ece += len(members) / n * abs(mean_p - rate)
        table.append({"from": low, "to": high, "n": len(members), "mean_p": mean_p, "rate": rate})
    return {
        "n": n,
        "base_rate": base_rate,
        "brier": sum((p - y) ** 2 for p, y in pairs) / n,
        "brier_base_rate": base_rate * (1 - base_rate),
        "ece": ece,
        "reliability": table,
    }
