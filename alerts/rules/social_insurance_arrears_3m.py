"""``social_insurance_arrears_3m``: social-insurance contributions overdue (欠缴社保).

Orange while a counting ``social_insurance_arrears`` report is ``months`` months or
more overdue. Only the latest report of the same arrears counts; a new report
updates the alert without re-sending it.

>>> SocialInsuranceThresholds().months
3
"""

from __future__ import annotations

from pydantic import NonNegativeInt

from creditbrain.alerts.rules.base import News, Policy, Rule, Thresholds, Verdict, held
from creditbrain.alerts.transition import Facts


class SocialInsuranceThresholds(Thresholds):
    """Social-insurance arrears of at least ``months`` months overdue."""

    months: NonNegativeInt = 3


def check(facts: Facts, policy: Policy, anchor: int | None) -> Verdict:
    """Holds while the counting arrears are ``months`` overdue."""
    months = policy.thresholds["months"]
    reports = facts.counting_of("social_insurance_arrears")
    causes = [r for rec, r in reports if (rec.quantity or 0) >= months]
    return held(facts, policy, causes, News.UPDATE)


RULE = Rule(
    name="social_insurance_arrears_3m",
    order=7,
    level="orange",
    check=check,
    thresholds=SocialInsuranceThresholds,
    requires="social_insurance_arrears",
)
