"""The simulated city's tables: who exists where, and how often each record happens.

Rates are records per subject per year on an ordinary working-day calendar, by
subject type, multiplied by a per-sector factor: food, environment and work-safety
businesses are inspected more (more penalties), construction owes wages and
meets the courts, internet finance ends up on the dishonest-debtor list. The
numbers are chosen to look like a mid-sized Chinese city's public credit feed
(licences dominate, dishonesty is rare), not measured from one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: Subject types in population order; an index into every per-type tuple below.
SUBJECT_TYPES = ("enterprise", "non_enterprise", "individual_business", "government", "person")
ENTERPRISE, NON_ENTERPRISE, INDIVIDUAL_BUSINESS, GOVERNMENT, PERSON = range(5)

#: Registration-authority + category prefix of the credit code, by type (GB 32100 table 1).
ISSUER_PREFIXES: tuple[tuple[str, ...], ...] = (
    ("91",),
    ("12", "52", "53"),
    ("92",),
    ("11",),
    (),
)

#: Where subjects are registered (organisations, persons), by district code.
DISTRICT_WEIGHTS: tuple[Mapping[str, float], Mapping[str, float]] = (
    {"371102": 0.36, "371103": 0.17, "371121": 0.11, "371122": 0.20, "371171": 0.16},
    {"371102": 0.30, "371103": 0.15, "371121": 0.15, "371122": 0.35, "371171": 0.05},
)

#: Sector of a subject (its supervising domain), weighted, by type.
SECTOR_WEIGHTS: tuple[Mapping[str, float], ...] = (
    {
        "market_regulation": 16, "construction": 12, "food_drug": 9, "transport": 8,
        "ecommerce": 6, "domestic_services": 3, "culture_tourism": 5, "ecology_environment": 4,
        "work_safety": 4, "grain_energy": 3, "finance": 2, "internet_finance": 0.5,
        "customs": 5, "bidding": 2, "taxation": 2, "health": 2, "medical_insurance": 1,
        "housing": 5, "human_resources": 2, "emergency_management": 1.5, "civil_affairs": 0.5,
    },
    {
        "health": 20, "civil_affairs": 20, "culture_tourism": 10, "human_resources": 8,
        "medical_insurance": 6, "housing": 3, "market_regulation": 4, "finance": 1,
        "ecology_environment": 3, "emergency_management": 2, "domestic_services": 4,
        "transport": 2, "taxation": 1,
    },
    {
        "market_regulation": 30, "food_drug": 25, "domestic_services": 8, "transport": 10,
        "ecommerce": 8, "culture_tourism": 6, "construction": 5, "health": 4,
        "medical_insurance": 2, "grain_energy": 2,
    },
    {"government": 1},
    {
        "market_regulation": 10, "human_resources": 15, "transport": 12, "domestic_services": 10,
        "health": 8, "finance": 8, "construction": 10, "civil_affairs": 10, "taxation": 5,
        "housing": 5, "culture_tourism": 5, "ecommerce": 2,
    },
)  # fmt: skip


@dataclass(frozen=True)
class Generator:
    """A background process producing one kind of record at random across the population."""

    kind: str
    #: Records per subject per year, by subject type (order of :data:`SUBJECT_TYPES`).
    per_year: tuple[float, float, float, float, float]
    #: Multiplier by the subject's sector; absent sectors count 1.
    sectors: Mapping[str, float] = field(default_factory=dict)
    #: For ``list_entry``: which list.
    variant: str = ""


GENERATORS: tuple[Generator, ...] = (
    Generator("license", (3.0, 0.8, 1.6, 0.05, 0.15),
              {"food_drug": 1.8, "transport": 1.5, "health": 1.5, "construction": 1.3,
               "ecology_environment": 1.2, "culture_tourism": 1.2}),
    Generator("commitment", (1.0, 0.6, 0.5, 0.8, 0.05)),
    Generator("commendation", (0.06, 0.10, 0.03, 0.15, 0.01),
              {"civil_affairs": 1.5, "health": 1.3}),
    Generator("penalty", (0.45, 0.10, 0.40, 0.01, 0.06),
              {"food_drug": 2.5, "market_regulation": 1.5, "ecology_environment": 2.5,
               "work_safety": 2.5, "transport": 2.0, "construction": 1.8,
               "emergency_management": 2.0, "medical_insurance": 1.5, "health": 1.2,
               "ecommerce": 1.2, "finance": 0.6, "internet_finance": 1.5, "customs": 1.2,
               "domestic_services": 0.8, "civil_affairs": 0.4}),
    Generator("judgment", (0.45, 0.12, 0.10, 0.15, 0.08),
              {"construction": 2.5, "finance": 2.0, "internet_finance": 3.0, "housing": 2.0,
               "transport": 1.2, "bidding": 1.5}),
    # Government bodies too, about once or twice a year: the plan's "zero growth" target
    # for dishonest organs is what the government_dishonest warning watches.
    Generator("dishonest_debtor", (0.008, 0.001, 0.006, 0.005, 0.006),
              {"construction": 2.5, "internet_finance": 4.0, "housing": 2.0, "finance": 1.5}),
    Generator("consumption_restriction", (0.003, 0.0, 0.002, 0.0, 0.004)),
    Generator("tax_arrears", (0.05, 0.01, 0.05, 0.0, 0.002),
              {"construction": 1.5, "grain_energy": 1.2, "housing": 1.5}),
    Generator("social_insurance_arrears", (0.04, 0.02, 0.01, 0.0, 0.0),
              {"construction": 2.0, "domestic_services": 2.0, "transport": 1.5}),
    Generator("wage_arrears", (0.02, 0.002, 0.01, 0.0, 0.0),
              {"construction": 6.0, "housing": 3.0, "domestic_services": 2.0, "transport": 1.5,
               "culture_tourism": 1.2, "food_drug": 1.2}),
    Generator("list_entry", (0.006, 0.002, 0.005, 0.0, 0.001),
              {"work_safety": 2.0, "ecology_environment": 2.0, "food_drug": 1.5},
              variant="key_attention"),
    Generator("list_entry", (0.0008, 0.0002, 0.0005, 0.0, 0.0005),
              {"construction": 2.0, "internet_finance": 3.0}, variant="serious_dishonesty"),
    Generator("list_entry", (0.01, 0.01, 0.004, 0.005, 0.0005), variant="red"),
)  # fmt: skip


@dataclass(frozen=True)
class Authority:
    """Who supervises a sector: wire ``source``, Chinese name, decision-number abbreviation."""

    source: str
    name: str
    abbreviation: str


_MARKET = Authority("municipal_market_regulation", "日照市市场监督管理局", "日市监")
_HOUSING = Authority("municipal_housing_construction", "日照市住房和城乡建设局", "日建")
_EMERGENCY = Authority("municipal_emergency_management", "日照市应急管理局", "日应急")
_FINANCE = Authority("municipal_financial_regulation", "日照市地方金融监督管理局", "日金")
_REFORM = Authority("municipal_development_reform", "日照市发展和改革委员会", "日发改")

AUTHORITIES: Mapping[str, Authority] = {
    "market_regulation": _MARKET,
    "food_drug": _MARKET,
    "ecommerce": _MARKET,
    "construction": _HOUSING,
    "housing": _HOUSING,
    "work_safety": _EMERGENCY,
    "emergency_management": _EMERGENCY,
    "finance": _FINANCE,
    "internet_finance": _FINANCE,
    "bidding": _REFORM,
    "grain_energy": _REFORM,
    "government": _REFORM,
    "transport": Authority("municipal_transport", "日照市交通运输局", "日交"),
    "ecology_environment": Authority("municipal_ecology_environment", "日照市生态环境局", "日环"),
    "taxation": Authority("municipal_tax_bureau", "国家税务总局日照市税务局", "日税"),
    "customs": Authority("rizhao_customs", "日照海关", "日关"),
    "health": Authority("municipal_health_commission", "日照市卫生健康委员会", "日卫"),
    "medical_insurance": Authority("municipal_healthcare_security", "日照市医疗保障局", "日医保"),
    "human_resources": Authority(
        "municipal_human_resources", "日照市人力资源和社会保障局", "日人社"
    ),
    "civil_affairs": Authority("municipal_civil_affairs", "日照市民政局", "日民"),
    "domestic_services": Authority("municipal_commerce", "日照市商务局", "日商"),
    "culture_tourism": Authority("municipal_culture_tourism", "日照市文化和旅游局", "日文旅"),
}

#: Court of each district and its code in case numbers (（2025）鲁1102民初123号).
COURTS: Mapping[str, tuple[str, str]] = {
    "371102": ("日照市东港区人民法院", "鲁1102"),
    "371103": ("日照市岚山区人民法院", "鲁1103"),
    "371121": ("五莲县人民法院", "鲁1121"),
    "371122": ("莒县人民法院", "鲁1122"),
    "371171": ("日照经济技术开发区人民法院", "鲁1191"),
}

#: Wire ``source`` of the kinds not issued by a sector authority.
SOURCES: Mapping[str, str] = {
    "judgment": "people_court",
    "dishonest_debtor": "people_court",
    "consumption_restriction": "people_court",
    "tax_arrears": "municipal_tax_bureau",
    "social_insurance_arrears": "municipal_social_insurance",
    "wage_arrears": "municipal_human_resources",
    "commendation": "municipal_government",
    "commitment": "municipal_credit_center",
    "commitment_breach": "municipal_credit_center",
    "repair": "municipal_credit_center",
    "objection": "municipal_credit_center",
    "serious_dishonesty": "municipal_development_reform",
    "red": "municipal_development_reform",
}
