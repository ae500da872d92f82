"""What people call the contract's codes, in Chinese and in English.

The wire speaks in keys (``dishonest_debtor``, ``grade_fell_to_D``, ``371102``); the
people who read a credit check in a service hall speak of 失信被执行人 and 东港区. One
table per vocabulary, each entry ``(Chinese, English)``: record kinds, warning rules,
levels, alert statuses, grades, subject types and the causes of a score change;
sectors and districts come from the city's reference tables
(:mod:`creditbrain.schemas.reference`). :func:`label` picks a language and falls back
to the key itself, so a code added without a name still shows.

>>> label("kind", "dishonest_debtor"), label("kind", "dishonest_debtor", "en")
('失信被执行人', 'dishonest debtor')
>>> label("rule", "grade_fell_to_D"), label("sector", "food_drug"), label("district", "371102")
('信用等级降为差', '食品药品', '东港区')
>>> label("district", "371102", "en"), label("kind", "no_such_kind")
('Donggang', 'no_such_kind')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference

Lang = Literal["zh", "en"]
Vocabulary = Literal[
    "kind", "rule", "level", "status", "grade", "subject_type", "cause", "sector", "district"
]

KIND_NAMES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "penalty": ("行政处罚", "administrative penalty"),
        "judgment": ("司法判决", "court judgment"),
        "dishonest_debtor": ("失信被执行人", "dishonest debtor"),
        "consumption_restriction": ("限制高消费", "consumption restriction"),
        "tax_arrears": ("欠缴税款", "tax arrears"),
        "social_insurance_arrears": ("欠缴社会保险费", "social insurance arrears"),
        "wage_arrears": ("拖欠工资", "wage arrears"),
        "arrears_cleared": ("欠款结清", "arrears cleared"),
        "license": ("行政许可", "licence"),
        "commendation": ("表彰奖励", "commendation"),
        "commitment": ("信用承诺", "commitment"),
        "commitment_breach": ("违背信用承诺", "commitment breach"),
        "list_entry": ("列入名单", "list entry"),
        "list_exit": ("移出名单", "list exit"),
        "repair": ("信用修复", "credit repair"),
        "objection": ("异议申诉", "objection"),
    }
)

#: The warning rules of DOMAIN.md, their Chinese terms as the rule files give them.
RULE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "dishonest_debtor_listed": ("失信被执行人", "listed as dishonest debtor"),
        "serious_dishonesty_listed": ("严重失信主体名单", "on the serious dishonesty list"),
        "government_dishonest": ("政务失信", "government body dishonest"),
        "grade_fell_to_D": ("信用等级降为差", "grade fell to D"),
        "grade_downgrade": ("信用等级下调", "grade downgraded"),
        "score_drop": ("信用分骤降", "score dropped"),
        "social_insurance_arrears_3m": ("欠缴社保", "social insurance 3 months overdue"),
        "wage_arrears": ("拖欠工资", "wage arrears"),
        "penalty_burst": ("行政处罚频发", "penalties in quick succession"),
        "anomalous_deterioration": ("异常恶化", "anomalous deterioration"),
        "predicted_serious_default": ("严重失信风险预测", "serious default predicted"),
        "first_negative_record": ("首次失信记录", "first negative record"),
        "metric_anomaly": ("系统性风险", "systemic risk in a series"),
        "case_overdue": ("处置超期", "case overdue"),
    }
)

_SMALL: dict[str, Mapping[str, tuple[str, str]]] = {
    "level": {
        "red": ("红色", "red"),
        "orange": ("橙色", "orange"),
        "yellow": ("黄色", "yellow"),
        "blue": ("蓝色", "blue"),
    },
    "status": {
        "open": ("新发", "open"),
        "escalated": ("已升级", "escalated"),
        "resolved": ("已解除", "resolved"),
    },
    "grade": {"A": ("A 优", "A"), "B": ("B 良", "B"), "C": ("C 中", "C"), "D": ("D 差", "D")},
    "subject_type": {
        "enterprise": ("企业", "enterprise"),
        "non_enterprise": ("非企业法人", "non-enterprise legal person"),
        "individual_business": ("个体工商户", "individual business"),
        "person": ("自然人", "person"),
        "government": ("政府机构", "government body"),
    },
    "cause": {
        "event": ("新记录", "event"),
        "expiry": ("公示期满", "expiry"),
        "current": ("重述", "restated"),
    },
}


def _reference_names(reference: Reference) -> dict[str, Mapping[str, tuple[str, str]]]:
    """Sector and district names: the reference tables hold ``"<Chinese> <English>"``."""
    districts: dict[str, tuple[str, str]] = {}
    for code, name in reference.districts.items():
        chinese, _, english = name.partition(" ")
        districts[code] = (chinese, english or chinese)
    sectors = {key: (name, key.replace("_", " ")) for key, name in reference.sectors.items()}
    return {"sector": sectors, "district": districts}


def label(
    vocabulary: Vocabulary, key: str, lang: Lang = "zh", reference: Reference = DEFAULT_REFERENCE
) -> str:
    """The name of ``key`` in ``lang``; ``key`` itself when it has none."""
    table: Mapping[str, tuple[str, str]]
    if vocabulary == "kind":
        table = KIND_NAMES
    elif vocabulary == "rule":
        table = RULE_LABELS
    elif vocabulary in ("sector", "district"):
        table = _reference_names(reference)[vocabulary]
    else:
        table = _SMALL[vocabulary]
    names = table.get(key)
    if names is None:
        return key
    return names[0] if lang == "zh" else names[1]
