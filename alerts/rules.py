"""The default warning rules (DOMAIN.md) as pure functions of a transition.

Each rule looks at the state *after* a transition and answers with a
:class:`Finding` (its condition holds: at which level, because of which records,
and what the transition added to it, :class:`News`), ``None`` (it does not hold:
an open alert resolves) or :data:`UNDECIDED` (a model gave no output: leave things
as they are).

"Counts" means what the scorecard says: the record is among the reasons of the
score after the transition. A rule's condition is re-judged on every transition of
the subject, publicity expiries included, so an alert resolves on the first
transition at which its cause no longer counts.

Three rules are about a change, not a state; they keep an *anchor* in the open
alert and resolve when the change is undone:

* ``grade_downgrade`` opens when the grade falls and resolves when it is back at
  or above the grade before the fall (anchor: that grade's rank);
* ``score_drop`` opens when the score is ``points`` or more below its peak within
  ``window_days`` and resolves when it is back within ``points`` of that peak
  (anchor: the peak);
* ``first_negative_record`` opens when a subject of grade A without deductions
  gets one and resolves when no deduction counts any more (anchor: rank of A).

``metric_anomaly`` is about a city-level series, not a subject:
:mod:`creditbrain.alerts.metric`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum, IntEnum
from typing import Final, Literal, NamedTuple

from creditbrain.alerts.history import peak
from creditbrain.alerts.transition import GRADE_RANK, Facts
from creditbrain.core.eventtime import DAY_MS as DAY_MS
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.policies import RulePolicy
from creditbrain.schemas.state import ScoreReason
from creditbrain.schemas.warnings import LEVEL_RANK, Level, RuleName


class News(IntEnum):
    """What a transition adds to a condition that already held."""

    #: Nothing: it holds as before.
    NONE = 0
    #: The same cause with fresh data (a new report of the same arrears, a further
    #: small fall of the score): the alert is updated and stored, never re-sent.
    UPDATE = 1
    #: A new cause (another listing, another penalty of the burst, a further fall of
    #: the grade, another drop of ``points`` at once): stored, and re-sent once the
    #: cooldown since the alert was last sent has passed.
    REPEAT = 2


class Finding(NamedTuple):
    """A rule's condition holds.

    Parameters
    ----------
    level
        The level it holds at.
    causes
        The counting records that make it hold (the warning's reasons).
    news
        What this transition added (:class:`News`); when no alert is open, any
        finding opens one.
    anchor
        What the rule remembers while its alert is open (change rules only).
    """

    level: Level
    causes: tuple[ScoreReason, ...]
    news: News
    anchor: int | None = None


class Undecided(Enum):
    """The rule cannot tell: no model output for this transition."""

    UNDECIDED = "undecided"


UNDECIDED: Final = Undecided.UNDECIDED

Verdict = Finding | Literal[Undecided.UNDECIDED] | None
#: ``check(facts, policy, anchor)``; ``anchor`` is the open alert's, ``None`` when none is open.
Check = Callable[[Facts, RulePolicy, "int | None"], Verdict]


def _held(facts: Facts, policy: RulePolicy, causes: Sequence[ScoreReason], news: News) -> Verdict:
    """Holds while ``causes`` count; ``news`` when one of them is new."""
    if not causes:
        return None
    return Finding(policy.level, tuple(causes), news if facts.any_fresh(causes) else News.NONE)


def dishonest_debtor_listed(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Red while a ``dishonest_debtor`` record (失信被执行人) counts; another listing repeats."""
    return _held(facts, policy, facts.reasons_of("dishonest_debtor"), News.REPEAT)


def serious_dishonesty_listed(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Red while a ``list_entry`` on the serious-dishonesty list (严重失信主体名单) counts."""
    entries = facts.counting_of("list_entry")
    causes = [r for rec, r in entries if rec.label == "serious_dishonesty"]
    return _held(facts, policy, causes, News.REPEAT)


def government_dishonest(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Red while a government body (政务失信) has a counting ``dishonest_debtor`` record."""
    if facts.transition.subject_type is not SubjectType.GOVERNMENT:
        return None
    return _held(facts, policy, facts.reasons_of("dishonest_debtor"), News.REPEAT)


def grade_fell_to_d(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Red while the grade is D (it opens when the grade becomes D)."""
    if facts.after.grade != "D":
        return None
    return Finding(policy.level, facts.deductions, News.NONE)


def grade_downgrade(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Orange from a fall of the grade until it is back where it fell from."""
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


def score_drop(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Orange from a drop of ``points`` within ``window_days`` until the score recovers."""
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


def social_insurance_arrears_3m(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Orange while the counting social-insurance arrears (欠缴社保) are ``months`` overdue.

    Only the latest report counts; a new report of the same arrears updates the alert.
    """
    months = policy.thresholds["months"]
    reports = facts.counting_of("social_insurance_arrears")
    causes = [r for rec, r in reports if (rec.quantity or 0) >= months]
    return _held(facts, policy, causes, News.UPDATE)


def wage_arrears(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Orange while wage arrears (拖欠工资) count; red from ``red_workers`` workers affected."""
    reports = facts.counting_of("wage_arrears")
    if not reports:
        return None
    level = policy.level
    red_workers = policy.thresholds["red_workers"]
    if any([(record.quantity or 0) >= red_workers for record, _ in reports]):
        level = "red"
    causes = tuple([reason for _, reason in reports])
    return Finding(level, causes, News.UPDATE if facts.any_fresh(causes) else News.NONE)


def penalty_burst(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Yellow while ``count`` counting penalties fall within ``window_days`` of each other."""
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
    return _held(facts, policy, causes, News.REPEAT)


def _model_says(facts: Facts, policy: RulePolicy, value: float | None, threshold: float) -> Verdict:
    if value is None:
        return UNDECIDED
    if value < threshold:
        return None
    return Finding(policy.level, facts.deductions, News.NONE)


def anomalous_deterioration(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Yellow while the online anomaly model scores the subject at or above ``threshold``."""
    value = facts.transition.anomaly_score
    return _model_says(facts, policy, value, policy.thresholds["threshold"])


def predicted_serious_default(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Yellow while the predicted probability of a red event within 90 days is high enough."""
    value = facts.transition.default_probability
    return _model_says(facts, policy, value, policy.thresholds["probability"])


def first_negative_record(facts: Facts, policy: RulePolicy, anchor: int | None) -> Verdict:
    """Blue from the first deduction of a clean grade-A subject until no deduction counts."""
    before = facts.before
    if anchor is None and before.grade != "A":
        return None
    deductions = facts.deductions
    if not deductions:
        return None
    if anchor is not None:
        return Finding(policy.level, deductions, News.NONE, anchor)
    if any([reason.effect < 0 for reason in before.reasons]):
        return None
    return Finding(policy.level, facts.new_deductions() or deductions, News.NONE, GRADE_RANK["A"])


#: The subject rules in DOMAIN.md's order (``metric_anomaly`` is city-level).
RULES: dict[RuleName, Check] = {
    "dishonest_debtor_listed": dishonest_debtor_listed,
    "serious_dishonesty_listed": serious_dishonesty_listed,
    "government_dishonest": government_dishonest,
    "grade_fell_to_D": grade_fell_to_d,
    "grade_downgrade": grade_downgrade,
    "score_drop": score_drop,
    "social_insurance_arrears_3m": social_insurance_arrears_3m,
    "wage_arrears": wage_arrears,
    "penalty_burst": penalty_burst,
    "anomalous_deterioration": anomalous_deterioration,
    "predicted_serious_default": predicted_serious_default,
    "first_negative_record": first_negative_record,
}

#: The kind of record without which a rule cannot hold: with no alert open and no such
#: record counting, the rule is not even asked.
REQUIRES: dict[RuleName, str] = {
    "dishonest_debtor_listed": "dishonest_debtor",
    "serious_dishonesty_listed": "list_entry",
    "government_dishonest": "dishonest_debtor",
    "social_insurance_arrears_3m": "social_insurance_arrears",
    "wage_arrears": "wage_arrears",
    "penalty_burst": "penalty",
}


def higher(level: Level, than: Level) -> bool:
    """Whether ``level`` is more severe than ``than``.

    >>> higher("red", "orange"), higher("blue", "yellow")
    (True, False)
    """
    return bool(LEVEL_RANK[level] > LEVEL_RANK[than])
