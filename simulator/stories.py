"""Ground-truth stories and systemic episodes: what the early-warning models should find.

A **deteriorating** organisation slides over about nine months: social-insurance
arrears with months overdue growing report after report, then tax arrears, wage
arrears (for some with ten or more workers, a red warning), penalties, judgments as
defendant and then as judgment debtor, and finally a listing as dishonest judgment
debtor (失信被执行人) with a consumption restriction; some end on the serious-dishonesty
list. A **recovering** organisation starts with a penalty or two, tax arrears and
perhaps a judgment, then turns: it signs a credit-repair commitment, clears its
arrears, has its records repaired once the minimum period has passed, leaves the
key-attention list and earns commendations.

A **systemic episode** is a burst of one kind in one sector × district for two or
three weeks (a food-safety inspection campaign in 岚山区, a developer defaulting on
its builders' wages): the city-level series detector should flag it.

Stories are scripted in days at full pace; a span shorter than a year compresses
them (``pace``), except for the legal minimum periods before a repair.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from creditbrain.simulator.calendar import DAY, time_of_day
from creditbrain.simulator.catalogue import GOVERNMENT
from creditbrain.simulator.plan import Plan
from creditbrain.simulator.population import DISTRICT_KEYS, SECTOR_KEYS, Population

#: One scheduled record: (simulated second, kind, plan).
Step = tuple[int, str, Plan]

#: Days a deteriorating story needs at full pace to reach the dishonest-debtor listing.
DETERIORATION_DAYS = 240

#: The kinds of decline a story can be (``Story.kind``): ``deteriorating`` is the
#: original social-insurance-led script, the only one of the ``classic`` story mix.
DECLINES = frozenset(
    (
        "deteriorating",
        "litigation",
        "penalty_escalation",
        "wage_led",
        "tax_relapse",
        "commitment_breach",
        "sudden",
    )
)
#: Kinds of decline kept out of every tuning: the evaluation reports them apart.
HELD_OUT = ("penalty_escalation", "commitment_breach")

_EPISODE_CANDIDATES = (
    ("food_drug", "penalty", "food-safety inspection campaign"),
    ("ecology_environment", "penalty", "environmental protection inspection"),
    ("work_safety", "penalty", "work-safety overhaul"),
    ("transport", "penalty", "overloading crackdown"),
    ("medical_insurance", "penalty", "medical-insurance fund special action"),
    ("construction", "wage_arrears", "a developer defaults on its contractors"),
    ("construction", "judgment", "wave of contractor payment disputes"),
)


@dataclass(slots=True)
class Story:
    """A subject's label in the ground truth."""

    label: str
    start: int
    turning_point: int | None = None
    #: The kind of story (a decline of :data:`DECLINES`, ``recovering``, ``lookalike``);
    #: ``None``: the label says it (the classic mix).
    kind: str | None = None


class _Script:
    """Collects a story's steps relative to its start day, at office hours."""

    def __init__(self, rng: random.Random, start: int, pace: float) -> None:
        self.rng = rng
        self.start = start
        self.pace = pace
        self.steps: list[Step] = []

    def at(self, low: float, high: float, after: int | None = None) -> int:
        """A second ``low``..``high`` paced days after ``after`` (default: the start)."""
        base = self.start if after is None else after
        offset = low + (high - low) * self.rng.random()
        day = base // DAY + int(offset * self.pace)
        # Never before the reference point: the heap must not run backwards.
        return max(base, day * DAY + time_of_day(self.rng, True))

    def add(self, second: int, kind: str, plan: Plan) -> int:
        plan.scripted = True
        self.steps.append((second, kind, plan))
        return second

    def monthly(self, first: int, kind: str, plans: list[Plan]) -> int:
        """Reports about a month apart, strictly in order so months overdue only grow."""
        second = first
        for plan in plans:
            second = self.add(second, kind, plan)
            second = max(second + 3_600, self.at(29, 31, after=second))
        return second


def deterioration(rng: random.Random, start: int, pace: float) -> list[Step]:
    """The records of an organisation sliding into dishonesty, from ``start``."""
    script = _Script(rng, start, pace)
    employees = 5 + int(75 * rng.random() ** 2)
    script.monthly(
        start,
        "social_insurance_arrears",
        [
            Plan(months_overdue=m, workers=employees, amount_cny=employees * m * 1_250.0)
            for m in range(1, 10)
        ],
    )
    first_month = 1 + int(2 * rng.random())
    monthly_tax = 8_000 + 60_000 * rng.random()
    script.monthly(
        script.at(20, 50),
        "tax_arrears",
        [Plan(months_overdue=m, amount_cny=m * monthly_tax) for m in range(first_month, 9)],
    )
    script.add(script.at(60, 110), "wage_arrears", Plan(workers=2 + int(8 * rng.random())))
    if rng.random() < 0.4:
        workers = 10 + int(70 * rng.random() ** 2)
        script.add(script.at(100, 170), "wage_arrears", Plan(workers=workers))
    for _ in range(1 + int(3 * rng.random())):
        script.add(script.at(40, 150), "penalty", Plan(severity="general"))
    if rng.random() < 0.4:
        script.add(script.at(100, 180), "penalty", Plan(severity="serious"))
    for _ in range(1 + int(3 * rng.random())):
        script.add(script.at(80, 180), "judgment", Plan(role="defendant"))
    script.add(script.at(150, 210), "judgment", Plan(role="judgment_debtor"))
    if rng.random() < 0.5:
        script.add(script.at(110, 160), "list_entry", Plan(list_name="key_attention"))
    restriction = (int(3 * DAY * rng.random()), "consumption_restriction", "")
    listed = script.add(
        script.at(180, DETERIORATION_DAYS), "dishonest_debtor", Plan(then=(restriction,))
    )
    if rng.random() < 0.3:
        script.add(
            script.at(20, 60, after=listed), "list_entry", Plan(list_name="serious_dishonesty")
        )
    return script.steps


def recovery(rng: random.Random, start: int, pace: float) -> tuple[list[Step], int]:
    """The records of an organisation that turns around, and the second it turns."""
    script = _Script(rng, start, pace)
    for index in range(2 if rng.random() < 0.5 else 1):
        # Repairable only after the legal minimum (3 months for a general penalty).
        repair = (90 * DAY + int(60 * DAY * rng.random()), "repair", "")
        when = start if index == 0 else script.at(5, 30)
        script.add(when, "penalty", Plan(severity="general", then=(repair,)))
    months = 2 + int(3 * rng.random())
    amount = 20_000 + 200_000 * rng.random()
    last_report = script.monthly(
        script.at(5, 20),
        "tax_arrears",
        [
            Plan(months_overdue=months, amount_cny=amount),
            Plan(months_overdue=months + 1, amount_cny=amount * 1.1),
        ],
    )
    if rng.random() < 0.4:
        repair = (DAY + int((60 + 60 * rng.random()) * pace * DAY), "repair", "")
        script.add(script.at(0, 30), "judgment", Plan(role="defendant", then=(repair,)))
    listed = rng.random() < 0.3
    if listed:
        script.add(script.at(10, 40), "list_entry", Plan(list_name="key_attention"))
    turn = max(script.at(60, 100), last_report)
    script.add(turn, "commitment", Plan(commitment_type="credit_repair"))
    script.add(script.at(0, 5, after=turn), "arrears_cleared", Plan(ref_kind="tax_arrears"))
    if listed:
        script.add(script.at(30, 90, after=turn), "list_exit", Plan(list_name="key_attention"))
    script.add(script.at(60, 200, after=turn), "commendation", Plan(level="city"))
    if rng.random() < 0.5:
        script.add(script.at(120, 250, after=turn), "commendation", Plan(level="province"))
    if rng.random() < 0.2:
        script.add(script.at(150, 250, after=turn), "list_entry", Plan(list_name="red"))
    return script.steps, turn


@dataclass(slots=True)
class Episode:
    """A sector × district burst of one kind, over whole days (inclusive)."""

    sector: str
    district: str
    kind: str
    description: str
    first_day: int
    last_day: int
    #: Extra records per ordinary working day during the episode.
    per_day: float
    subjects: array[int] = field(repr=False)
    emitted: int = 0


def choose_episodes(
    rng: random.Random,
    population: Population,
    count: int,
    days: int,
    baseline: Callable[[str, str, str], float],
) -> list[Episode]:
    """Up to ``count`` episodes in cells with organisations to carry them.

    ``baseline(kind, sector, district)`` is the ordinary working-day count of the
    kind in the cell; an episode adds five times that, and at least three a day.
    """
    cells: list[tuple[str, str, str, str, array[int]]] = []
    for sector, kind, description in _EPISODE_CANDIDATES:
        for district in DISTRICT_KEYS:
            members = array("I")
            for (subject_type, sector_of, district_of), group in population.groups.items():
                if (
                    subject_type <= GOVERNMENT
                    and SECTOR_KEYS[sector_of] == sector
                    and DISTRICT_KEYS[district_of] == district
                ):
                    members.extend(group)
            if len(members) >= 3:
                cells.append((sector, district, kind, description, members))
    rng.shuffle(cells)
    episodes = []
    for sector, district, kind, description, members in cells[:count]:
        length = 10 + int(12 * rng.random())
        earliest = int(0.1 * days)
        first = earliest + int(max(0, days - length - earliest) * rng.random())
        per_day = max(3.0, 5 * baseline(kind, sector, district))
        last = min(days - 1, first + length - 1)
        episodes.append(Episode(sector, district, kind, description, first, last, per_day, members))
    return sorted(episodes, key=lambda e: (e.first_day, e.sector, e.district))
