"""Why a model warns: the features that pushed its score up most, in Chinese and English.

A logistic regression's log-odds are a sum of ``weight × feature``; the terms of a
transition's non-zero features are their contributions. :func:`explain` keeps the
largest positive ones (what raised the probability) and words each in plain Chinese
and English with the value it stands for: the features are squashed into [0, 1]
(``c / (c + 2)`` for counts, months / 12, ...), so the wording undoes the squashing
("社保欠费 2 个月", "90 天内新增 3 起诉讼").

>>> x = {"judgment_90d": 0.6, "si_months": 2 / 12, "score": 0.9}
>>> weights = {"judgment_90d": 2.0, "si_months": 1.5, "score": -1.0}
>>> [(c["feature"], c["weight"], c["zh"], c["en"]) for c in explain(weights, x)]
... # doctest: +NORMALIZE_WHITESPACE
[('judgment_90d', 1.2, '90 天内新增 3 起诉讼或判决', '3 lawsuits or judgments in 90 days'),
 ('si_months', 0.25, '社保欠费 2 个月', 'social insurance 2 months overdue')]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypedDict

__all__ = ["Contribution", "explain", "wording"]


class Contribution(TypedDict):
    """One feature's part in a model's score, as a warning carries it."""

    feature: str
    #: Its term in the log-odds (weight × value), rounded.
    weight: float
    zh: str
    en: str


def _count(value: float) -> int:
    """The count ``c`` of a squashed ``c / (c + 2)``."""
    return round(2 * value / (1 - value)) if value < 1 else 99


def _months(value: float) -> int:
    return round(12 * value)


def _workers(value: float) -> int:
    return round(math.expm1(value * math.log1p(100.0)))


def _amount(value: float) -> int:
    return int(round(math.expm1(value * math.log1p(10_000_000.0)), -3))


_GROUP_WORDS = {
    "penalty": ("行政处罚", "administrative penalties"),
    "judgment": ("诉讼或判决", "lawsuits or judgments"),
    "arrears": ("欠费欠薪记录", "arrears reports"),
    "listing": ("名单或失信记录", "listings or breaches"),
    "positive": ("守信记录", "positive records"),
}
_MEASURES = {"penalty": "起", "judgment": "起", "arrears": "条", "listing": "条", "positive": "条"}


def _window(group: str, days: int) -> Callable[[float], tuple[str, str]]:
    zh, en = _GROUP_WORDS[group]

    def words(value: float) -> tuple[str, str]:
        n = _count(value)
        return f"{days} 天内新增 {n} {_MEASURES[group]}{zh}", f"{n} {en} in {days} days"

    return words


_FIXED: dict[str, Callable[[float], tuple[str, str]]] = {
    "si_months": lambda v: (
        f"社保欠费 {_months(v)} 个月",
        f"social insurance {_months(v)} months overdue",
    ),
    "tax_months": lambda v: (f"欠税 {_months(v)} 个月", f"taxes {_months(v)} months overdue"),
    "wage_workers": lambda v: (
        f"拖欠 {_workers(v)} 名职工工资",
        f"wages owed to {_workers(v)} workers",
    ),
    "arrears_amount": lambda v: (
        f"欠款约 {_amount(v):,} 元",
        f"about CNY {_amount(v):,} in arrears",
    ),
    "open_arrears": lambda v: (
        f"{round(3 * v)} 类欠费未清",
        f"{round(3 * v)} kinds of arrears outstanding",
    ),
    "deductions": lambda v: (f"{_count(v)} 条扣分记录", f"{_count(v)} records lowering the score"),
    "fall_30d": lambda v: (
        f"30 天内信用分下降 {round(300 * v)} 分",
        f"score fell {round(300 * v)} in 30 days",
    ),
    "fall_90d": lambda v: (
        f"90 天内信用分下降 {round(300 * v)} 分",
        f"score fell {round(300 * v)} in 90 days",
    ),
    "fall_speedup": lambda v: ("信用分下降加速", "the score's fall is speeding up"),
    "arrears_kinds_90d": lambda v: (
        f"90 天内出现 {round(3 * v)} 类欠费",
        f"{round(3 * v)} kinds of arrears in 90 days",
    ),
    "arrears_new": lambda v: ("首次出现欠费", "arrears for the first time"),
    "trouble_kinds_90d": lambda v: (
        f"90 天内 {_count(v)} 个部门报送不良记录",
        f"trouble reported by {_count(v)} departments in 90 days",
    ),
    "trouble_months": lambda v: (
        f"近 6 个月中有 {round(6 * v)} 个月出现不良记录",
        f"trouble in {round(6 * v)} of the last 6 months",
    ),
    "trouble_recent": lambda v: (
        f"一年内的不良记录 {round(100 * v)}% 发生在近 90 天",
        f"{round(100 * v)} % of the year's trouble in the last 90 days",
    ),
}


def wording(feature: str, value: float) -> tuple[str, str]:
    """The feature at ``value`` in plain Chinese and English.

    >>> wording("tax_months", 0.25)
    ('欠税 3 个月', 'taxes 3 months overdue')
    >>> wording("sector_works", 1.0)
    ('特征 sector_works', 'feature sector_works')
    """
    fixed = _FIXED.get(feature)
    if fixed is not None:
        return fixed(value)
    group, _, window = feature.rpartition("_")
    if group in _GROUP_WORDS and window in ("30d", "90d", "365d"):
        return _window(group, int(window[:-1]))(value)
    return f"特征 {feature}", f"feature {feature}"


def explain(
    weights: Mapping[str, float], x: Mapping[str, float], top: int = 3
) -> list[Contribution]:
    """The ``top`` features of ``x`` that raised the score most (positive terms only)."""
    terms = sorted(
        ((weights.get(name, 0.0) * value, name) for name, value in x.items()),
        reverse=True,
    )
    found: list[Contribution] = []
    for term, name in terms[:top]:
        if term <= 0:
            break
        zh, en = wording(name, x[name])
        found.append({"feature": name, "weight": round(term, 3), "zh": zh, "en": en})
    return found
