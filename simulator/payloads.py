"""Payloads of the sixteen kinds, drawn at random unless a story fixes a value.

Every method takes a random generator, the subject, the simulated second and a
:class:`~creditbrain.simulator.plan.Plan` (a story's severity, an arrears chain's
months overdue, a repair's reference) and returns the wire ``source``, the payload
as compact JSON text and the facts the caller needs to schedule what follows (a
penalty's severity, a case number, a commitment number...).

Numbers look like the real ones: decision numbers ``日市监罚〔2025〕00042号``, case
numbers ``（2025）鲁1102民初123号``, commitment numbers ``XYCN3711022025000012``.
Amounts are JSON numbers; wage arrears are workers × monthly wage × months.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from itertools import count
from typing import TypeVar

from creditbrain.simulator.calendar import DAY, Clock
from creditbrain.simulator.catalogue import AUTHORITIES, COURTS, GOVERNMENT, PERSON, SOURCES
from creditbrain.simulator.plan import Plan
from creditbrain.simulator.population import DISTRICT_KEYS, SECTOR_KEYS, Population

T = TypeVar("T")

#: Publicity period of a published penalty (DOMAIN.md: general 1 year, serious 3 years).
PUBLICITY = {"general": 365 * DAY, "serious": 1095 * DAY}
_INTERMEDIATE_COURT = ("日照市中级人民法院", "鲁11")
_TAX_TYPES = ("增值税", "企业所得税", "房产税", "城镇土地使用税", "印花税", "个人所得税")
_LICENCE_TYPES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "food_drug": (("food_business", "JY"), ("drug_retail", "YP")),
    "transport": (("road_transport", "JT"),),
    "construction": (("construction_permit", "SG"), ("construction_qualification", "ZZ")),
    "housing": (("pre_sale_permit", "YS"),),
    "ecology_environment": (("pollutant_discharge", "PW"),),
    "health": (("medical_practice", "YL"),),
    "culture_tourism": (("travel_agency", "LX"), ("entertainment", "YL")),
    "work_safety": (("safety_production", "AQ"),),
}
_GENERIC_LICENCE = (("business_licence_change", "BG"), ("administrative_licence", "XK"))
_TITLES = (
    ("守合同重信用企业", "纳税信用A级纳税人", "诚信示范企业", "劳动保障诚信示范单位"),
    ("文明单位", "先进集体", "诚信建设示范单位"),
    ("诚信经营示范户", "放心消费示范店"),
    ("文明单位", "政务诚信示范单位"),
    ("道德模范", "见义勇为先进个人", "优秀志愿者"),
)
_COMMITMENT_TYPES = (
    ("notification_commitment",) * 6 + ("industry_self_discipline",) * 3 + ("application",)
)
_LIST_REASONS = {
    "serious_dishonesty": (
        "拒不履行法定义务",
        "拖欠农民工工资情节严重",
        "严重危害人民群众身体健康",
    ),
    "key_attention": ("多次违法违规", "经营异常", "未履行信用承诺"),
    "red": ("守信激励", "纳税信用A级", "诚信示范"),
}


def _between(rng: random.Random, low: float, high: float) -> float:
    return low + (high - low) * rng.random()


def _pick(rng: random.Random, options: Sequence[T]) -> T:
    """``rng.choice`` without its rejection sampling: this runs for most events."""
    return options[int(len(options) * rng.random())]


def _lognormal(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return min(high, max(low, median * rng.lognormvariate(0.0, sigma)))


class Payloads:
    """Formats payloads for one population; numbering is per instance.

    Parameters
    ----------
    population
        Whose records these are (sector, district and type decide authority and court).
    clock
        Formats ``publicity_until`` and supplies the year of case numbers.
    """

    def __init__(self, population: Population, clock: Clock) -> None:
        self._types = population.types
        self._sectors = population.sectors
        self._districts = population.districts
        self._clock = clock
        self._years = clock.years
        self._serial = count(1)
        # Per-sector tables indexed by the population's sector codes: no string keys per event.
        self._authorities = [AUTHORITIES[s] for s in SECTOR_KEYS]
        self._licences = [_LICENCE_TYPES.get(s, _GENERIC_LICENCE) for s in SECTOR_KEYS]

    def _year(self, second: int) -> int:
        return self._years[second // DAY]

    def _number(self, subject: int, second: int) -> str:
        """District, year and a serial: the tail of licence and commitment numbers."""
        district = DISTRICT_KEYS[self._districts[subject]]
        return f"{district}{self._years[second // DAY]}{next(self._serial):07d}"

    def _is_person(self, subject: int) -> bool:
        return self._types[subject] == PERSON

    def penalty(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, str]:
        """行政处罚; returns the severity as its fact."""
        authority = self._authorities[self._sectors[subject]]
        severity = plan.severity
        if severity is None:
            roll = rng.random()
            if self._is_person(subject):
                severity = "simple" if roll < 0.7 else "general" if roll < 0.98 else "serious"
            else:
                severity = "simple" if roll < 0.45 else "general" if roll < 0.9 else "serious"
        decision = f"{authority.abbreviation}罚〔{self._year(second)}〕{next(self._serial):05d}号"
        head = f'{{"decision_no":"{decision}","severity":"{severity}"'
        tail = f',"authority":"{authority.name}"'
        if severity == "simple":
            if rng.random() < 0.4:  # a warning: no fine
                return authority.source, head + tail + "}", severity
            return (
                authority.source,
                f'{head},"amount_cny":{50 * int(_between(rng, 2, 61))}{tail}}}',
                severity,
            )
        if severity == "general":
            amount = 100 * int(_lognormal(rng, 10_000, 1.0, 1_000, 500_000) / 100)
        else:
            amount = 1_000 * int(_lognormal(rng, 200_000, 0.8, 50_000, 5_000_000) / 1_000)
        until = self._clock.stamp(second + PUBLICITY[severity])
        payload = f'{head},"amount_cny":{amount}{tail},"publicity_until":"{until}"}}'
        return authority.source, payload, severity

    def _case_no(self, subject: int, second: int, case_type: str, amount: float) -> tuple[str, str]:
        court, code = COURTS[DISTRICT_KEYS[self._districts[subject]]]
        if amount > 5_000_000:
            court, code = _INTERMEDIATE_COURT
        return f"（{self._year(second)}）{code}{case_type}{next(self._serial)}号", court

    def judgment(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, str]:
        """A court judgment; returns the subject's role."""
        kind = self._types[subject]
        role = plan.role
        if role is None:
            roll = rng.random()
            if kind == GOVERNMENT:
                role = (
                    "defendant" if roll < 0.8 else "plaintiff" if roll < 0.95 else "judgment_debtor"
                )
            else:
                role = (
                    "defendant" if roll < 0.45 else "plaintiff" if roll < 0.8 else "judgment_debtor"
                )
        amount = round(_lognormal(rng, 30_000 if kind == PERSON else 80_000, 1.3, 500, 5e7), 2)
        if role == "judgment_debtor":
            case_type = "执"
        elif kind == GOVERNMENT and role == "defendant":
            case_type = "行初"  # administrative litigation against an organ
        else:
            case_type = "民初" if rng.random() < 0.85 else "民终"
        case_no, court = self._case_no(subject, second, case_type, amount)
        payload = (
            f'{{"case_no":"{case_no}","role":"{role}","amount_cny":{amount:.2f},"court":"{court}"}}'
        )
        return SOURCES["judgment"], payload, role

    def dishonest_debtor(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, str]:
        """失信被执行人; returns the enforcement case number."""
        median = 60_000 if self._is_person(subject) else 150_000
        amount = round(_lognormal(rng, median, 1.2, 1_000, 8e7), 2)
        case_no, court = self._case_no(subject, second, "执", amount)
        payload = f'{{"case_no":"{case_no}","amount_cny":{amount:.2f},"court":"{court}"}}'
        return SOURCES["dishonest_debtor"], payload, case_no

    def consumption_restriction(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """限制高消费, in the dishonest-debtor case when the plan names one."""
        case_no = plan.case_no or self._case_no(subject, second, "执", 0)[0]
        return SOURCES["consumption_restriction"], f'{{"case_no":"{case_no}"}}'

    def tax_arrears(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, int, float]:
        """欠税; returns months overdue and amount, for the chain's next report."""
        months = plan.months_overdue or 1 + int(3 * rng.random())
        amount = plan.amount_cny or _lognormal(rng, 40_000, 1.2, 200, 2e7)
        tax_type = _TAX_TYPES[-1] if self._is_person(subject) else _TAX_TYPES[int(5 * rng.random())]
        payload = f'{{"amount_cny":{amount:.2f},"months_overdue":{months},"tax_type":"{tax_type}"}}'
        return SOURCES["tax_arrears"], payload, months, amount

    def social_insurance_arrears(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, int, float, int]:
        """欠缴社保; returns months overdue, amount and employees affected."""
        months = plan.months_overdue or 1 + int(2 * rng.random())
        employees = plan.workers or 1 + int(_lognormal(rng, 8, 1.0, 0, 500))
        amount = plan.amount_cny or employees * months * _between(rng, 900, 1_600)
        payload = (
            f'{{"amount_cny":{amount:.2f},"months_overdue":{months},'
            f'"employees_affected":{employees}}}'
        )
        return SOURCES["social_insurance_arrears"], payload, months, amount, employees

    def wage_arrears(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, int, float]:
        """拖欠工资; returns the workers affected (10 or more is a red warning) and amount."""
        workers = plan.workers
        if workers is None:
            workers = (
                1 + int(9 * rng.random())
                if rng.random() < 0.85
                else 10 + int(_lognormal(rng, 15, 0.8, 0, 290))
            )
        amount = plan.amount_cny or workers * _between(rng, 3_500, 7_000) * (
            1 + int(4 * rng.random())
        )
        payload = f'{{"amount_cny":{amount:.2f},"workers_affected":{workers}}}'
        return SOURCES["wage_arrears"], payload, workers, amount

    def arrears_cleared(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """The arrears of ``plan.ref_kind`` are paid."""
        kind = plan.ref_kind or "tax_arrears"
        return SOURCES[kind], f'{{"ref_kind":"{kind}"}}'

    def license(self, rng: random.Random, subject: int, second: int, plan: Plan) -> tuple[str, str]:
        """行政许可: a licence granted."""
        sector = self._sectors[subject]
        licence_type, prefix = _pick(rng, self._licences[sector])
        number = f"{prefix}{self._number(subject, second)}"
        payload = f'{{"licence_no":"{number}","licence_type":"{licence_type}"}}'
        return self._authorities[sector].source, payload

    def commendation(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """表彰 at city, province or national level."""
        title = _pick(rng, _TITLES[self._types[subject]])
        roll = rng.random()
        level = plan.level or ("city" if roll < 0.7 else "province" if roll < 0.95 else "national")
        return SOURCES["commendation"], f'{{"title":"{title}","level":"{level}"}}'

    def commitment(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str, str]:
        """信用承诺; returns the commitment number a breach will cite."""
        number = f"XYCN{self._number(subject, second)}"
        kind = plan.commitment_type or _pick(rng, _COMMITMENT_TYPES)
        payload = f'{{"commitment_no":"{number}","commitment_type":"{kind}"}}'
        return SOURCES["commitment"], payload, number

    def commitment_breach(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """A commitment not kept."""
        number = plan.commitment_no or f"XYCN{DISTRICT_KEYS[self._districts[subject]]}0000000000"
        return SOURCES["commitment_breach"], f'{{"commitment_no":"{number}"}}'

    def _list(self, rng: random.Random, subject: int, plan: Plan) -> tuple[str, str]:
        name = plan.list_name or "key_attention"
        source = SOURCES.get(name) or self._authorities[self._sectors[subject]].source
        return source, f'{{"list":"{name}","reason":"{rng.choice(_LIST_REASONS[name])}"}}'

    def list_entry(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """Entry to 严重失信主体名单, 重点关注名单 or 红名单."""
        return self._list(rng, subject, plan)

    def list_exit(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """Exit from a list."""
        source, _ = self._list(rng, subject, plan)
        return source, f'{{"list":"{plan.list_name or "key_attention"}","reason":"移出"}}'

    def repair(self, rng: random.Random, subject: int, second: int, plan: Plan) -> tuple[str, str]:
        """信用修复 of ``plan.ref_event_id``."""
        return SOURCES["repair"], f'{{"ref_event_id":"{plan.ref_event_id}"}}'

    def objection(
        self, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """异议 against ``plan.ref_event_id``, filed or decided."""
        payload = f'{{"ref_event_id":"{plan.ref_event_id}","status":"{plan.status or "filed"}"}}'
        return SOURCES["objection"], payload

    def render(
        self, kind: str, rng: random.Random, subject: int, second: int, plan: Plan
    ) -> tuple[str, str]:
        """Source and payload of any kind, for callers that need no facts back."""
        method: Callable[[random.Random, int, int, Plan], tuple[str, ...]] = getattr(self, kind)
        source, payload = method(rng, subject, second, plan)[:2]
        return source, payload
