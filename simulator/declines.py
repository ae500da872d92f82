"""The varied story mix: many ways to go bad, and healthy subjects that only start like it.

Each kind of decline has its own first signs, speed and kinds of records (days at full
pace, ``pace`` compresses them as in :mod:`.stories`):

* ``deteriorating``: the classic slide (:func:`.stories.deterioration`);
* ``litigation``: lawsuits as defendant pile up, faster and faster, then a judgment
  debtor and the dishonest-debtor listing;
* ``penalty_escalation``: general penalties come ever closer together, then a serious
  one, the key-attention list and at last the serious-dishonesty list;
* ``wage_led``: small wage arrears month after month, the workers owed growing until
  ten or more (a red event), social-insurance arrears beside them;
* ``tax_relapse``: tax arrears cleared and back again, each time longer overdue, then a
  tax judgment and the dishonest-debtor listing;
* ``commitment_breach``: credit commitments signed and broken, penalties, key
  attention, then the dishonest-debtor listing;
* ``sudden``: nothing, then a red record.

A ``lookalike`` starts like one of them (a month or two of arrears, a lawsuit or two, a
couple of penalties, a wage claim) and recovers: the arrears are cleared, a commitment
kept, commendations follow. It never has a red record.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from creditbrain.simulator.calendar import DAY, time_of_day
from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.plan import Plan
from creditbrain.simulator.population import Population
from creditbrain.simulator.stories import (
    DETERIORATION_DAYS,
    Step,
    Story,
    _Script,
    deterioration,
)


def litigation(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    second = script.add(start, "judgment", Plan(role="defendant"))
    gap = 45.0
    for _ in range(2 + int(4 * rng.random())):
        gap *= 0.7 + 0.2 * rng.random()
        second = script.add(
            script.at(0.6 * gap, gap, after=second), "judgment", Plan(role="defendant")
        )
    if rng.random() < 0.5:
        script.add(script.at(10, 60, after=start), "penalty", Plan(severity="general"))
    debtor = script.add(script.at(20, 50, after=second), "judgment", Plan(role="judgment_debtor"))
    restriction = (int(3 * DAY * rng.random()), "consumption_restriction", "")
    script.add(script.at(30, 90, after=debtor), "dishonest_debtor", Plan(then=(restriction,)))
    return script.steps


def penalty_escalation(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    second = script.add(start, "penalty", Plan(severity="general"))
    gap = 60.0
    for _ in range(3 + int(3 * rng.random())):
        gap *= 0.6 + 0.2 * rng.random()
        second = script.add(
            script.at(0.7 * gap, gap, after=second), "penalty", Plan(severity="general")
        )
    serious = script.add(script.at(5, 30, after=second), "penalty", Plan(severity="serious"))
    watched = script.add(
        script.at(5, 25, after=serious), "list_entry", Plan(list_name="key_attention")
    )
    if rng.random() < 0.5:
        script.add(script.at(10, 40, after=watched), "penalty", Plan(severity="serious"))
    script.add(
        script.at(40, 100, after=watched), "list_entry", Plan(list_name="serious_dishonesty")
    )
    return script.steps


def wage_led(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    workers = 2 + int(3 * rng.random())
    plans = []
    while workers < 10:
        plans.append(Plan(workers=workers, amount_cny=workers * 6_000.0))
        workers += 1 + int(3 * rng.random())
    plans.append(Plan(workers=workers + int(20 * rng.random()), amount_cny=workers * 7_000.0))
    script.monthly(start, "wage_arrears", plans)
    if rng.random() < 0.6:
        employees = 10 + int(60 * rng.random())
        script.monthly(
            script.at(30, 70),
            "social_insurance_arrears",
            [
                Plan(months_overdue=m, workers=employees, amount_cny=employees * m * 1_250.0)
                for m in (1, 2)
            ],
        )
    return script.steps


def tax_relapse(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    monthly = 10_000 + 50_000 * rng.random()
    second = start
    months = 1
    for _ in range(2 + int(2 * rng.random())):
        plans = [Plan(months_overdue=m, amount_cny=m * monthly) for m in range(1, months + 1)]
        script.monthly(second, "tax_arrears", plans)
        last = script.steps[-1][0]
        cleared = script.add(
            script.at(3, 15, after=last), "arrears_cleared", Plan(ref_kind="tax_arrears")
        )
        second = script.at(10, 30, after=cleared)
        months += 1
    plans = [Plan(months_overdue=m, amount_cny=m * monthly) for m in range(1, 3)]
    script.monthly(second, "tax_arrears", plans)
    last = script.steps[-1][0]
    judgment = script.add(script.at(5, 30, after=last), "judgment", Plan(role="judgment_debtor"))
    restriction = (int(3 * DAY * rng.random()), "consumption_restriction", "")
    script.add(script.at(20, 60, after=judgment), "dishonest_debtor", Plan(then=(restriction,)))
    return script.steps


def commitment_breach(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    second = script.add(start, "commitment", Plan(commitment_type="industry_self_discipline"))
    for _ in range(1 + int(2 * rng.random())):
        second = script.add(script.at(20, 60, after=second), "commitment_breach", Plan())
        if rng.random() < 0.6:
            script.add(script.at(0, 20, after=second), "penalty", Plan(severity="general"))
        if rng.random() < 0.5:
            second = script.add(script.at(10, 40, after=second), "commitment", Plan())
    watched = script.add(
        script.at(10, 40, after=second), "list_entry", Plan(list_name="key_attention")
    )
    script.add(script.at(5, 30, after=watched), "commitment_breach", Plan())
    if rng.random() < 0.5:
        script.add(
            script.at(30, 80, after=watched), "list_entry", Plan(list_name="serious_dishonesty")
        )
    else:
        restriction = (int(3 * DAY * rng.random()), "consumption_restriction", "")
        script.add(script.at(30, 80, after=watched), "dishonest_debtor", Plan(then=(restriction,)))
    return script.steps


def sudden(rng: random.Random, start: int, pace: float) -> list[Step]:
    script = _Script(rng, start, pace)
    if rng.random() < 0.5:
        script.add(start, "list_entry", Plan(list_name="serious_dishonesty"))
    else:
        restriction = (int(3 * DAY * rng.random()), "consumption_restriction", "")
        script.add(start, "dishonest_debtor", Plan(then=(restriction,)))
    return script.steps


def lookalike(rng: random.Random, start: int, pace: float) -> list[Step]:
    """A healthy subject's false start, and its recovery."""
    script = _Script(rng, start, pace)
    opening = rng.randrange(5)
    if opening == 0:
        employees = 5 + int(40 * rng.random())
        last = script.monthly(
            start,
            "social_insurance_arrears",
            [
                Plan(months_overdue=m, workers=employees, amount_cny=employees * m * 1_250.0)
                for m in range(1, 2 + int(2 * rng.random()))
            ],
        )
        cleared = "social_insurance_arrears"
    elif opening == 1:
        last = script.add(start, "judgment", Plan(role="defendant"))
        if rng.random() < 0.5:
            last = script.add(script.at(20, 60, after=last), "judgment", Plan(role="defendant"))
        cleared = ""
    elif opening == 2:
        last = script.add(start, "penalty", Plan(severity="general"))
        last = script.add(script.at(15, 45, after=last), "penalty", Plan(severity="general"))
        cleared = ""
    elif opening == 3:
        last = script.add(start, "wage_arrears", Plan(workers=2 + int(4 * rng.random())))
        cleared = "wage_arrears"
    else:
        monthly = 10_000 + 50_000 * rng.random()
        last = script.monthly(
            start, "tax_arrears", [Plan(months_overdue=m, amount_cny=m * monthly) for m in (1, 2)]
        )
        cleared = "tax_arrears"
    turn = script.at(10, 40, after=last)
    if cleared:
        script.add(turn, "arrears_cleared", Plan(ref_kind=cleared))
    script.add(script.at(0, 20, after=turn), "commitment", Plan(commitment_type="credit_repair"))
    script.add(script.at(60, 200, after=turn), "commendation", Plan(level="city"))
    return script.steps


#: Kind of decline -> its script.
DECLINE_SCRIPTS: dict[str, Callable[[random.Random, int, float], list[Step]]] = {
    "deteriorating": deterioration,
    "litigation": litigation,
    "penalty_escalation": penalty_escalation,
    "wage_led": wage_led,
    "tax_relapse": tax_relapse,
    "commitment_breach": commitment_breach,
    "sudden": sudden,
}
#: Relative frequency of each kind among the declines of the varied mix.
DECLINE_WEIGHTS: dict[str, float] = {
    "deteriorating": 2.0,
    "litigation": 1.5,
    "penalty_escalation": 1.0,
    "wage_led": 1.0,
    "tax_relapse": 1.0,
    "commitment_breach": 1.0,
    "sudden": 1.0,
}
#: Sector groups where declines are more (or less) common than elsewhere.
SECTOR_RISK: dict[str, float] = {
    "construction": 2.0,
    "housing": 1.8,
    "internet_finance": 1.5,
    "transport": 1.4,
    "bidding": 1.3,
    "domestic_services": 1.3,
    "finance": 0.6,
    "health": 0.6,
}
#: Small businesses (个体工商户) fall more often without warning, rarely by wage claims.
_SMALL_BUSINESS = {"sudden": 2.0, "tax_relapse": 1.5, "wage_led": 0.3, "deteriorating": 0.5}
#: Background rates of the varied mix, as a multiple of the classic ones.
VARIED_NOISE = 1.3
#: Look-alikes per decline.
LOOKALIKES = 1.0


def story_steps(kind: str, rng: random.Random, start: int, pace: float) -> list[Step]:
    """The records of a story of ``kind`` (a decline or ``lookalike``) from ``start``."""
    if kind == "lookalike":
        return lookalike(rng, start, pace)
    return DECLINE_SCRIPTS[kind](rng, start, pace)


def cast_varied(
    rng: random.Random, population: Population, candidates: range, config: CityConfig
) -> list[tuple[int, Story]]:
    """Who has which story in the varied mix, and when it starts (in subject order).

    Declines are drawn with weights by sector (:data:`SECTOR_RISK`); their kind by
    :data:`DECLINE_WEIGHTS`, changed for small businesses. As many healthy subjects as
    there are declines get a false start (``lookalike``), and ``recovering_share`` of
    them the classic recovery.
    """
    declining = round(config.deteriorating_share * len(candidates))
    recovering = round(config.recovering_share * len(candidates))
    lookalikes = round(LOOKALIKES * declining)
    # Weighted sampling without replacement: the largest u ** (1 / w) keys.
    keyed = []
    for subject in candidates:
        weight = SECTOR_RISK.get(population.sector_of(subject), 1.0)
        keyed.append((rng.random() ** (1.0 / weight), subject))
    keyed.sort(reverse=True)
    chosen = [subject for _, subject in keyed[:declining]]
    rest = [subject for _, subject in keyed[declining:]]
    others = rng.sample(rest, min(len(rest), recovering + lookalikes))
    pace = min(1.0, config.days / 365)
    earliest = int(0.03 * config.days)
    latest = max(earliest, int(config.days - 0.9 * DETERIORATION_DAYS * pace))
    cast: list[tuple[int, Story]] = []
    kinds = list(DECLINE_WEIGHTS)
    for subject in chosen:
        weights = [DECLINE_WEIGHTS[k] for k in kinds]
        if population.type_of(subject) == "individual_business":
            weights = [w * _SMALL_BUSINESS.get(k, 1.0) for k, w in zip(kinds, weights, strict=True)]
        kind = rng.choices(kinds, weights)[0]
        day = earliest + int((latest - earliest) * rng.random())
        cast.append((subject, Story("deteriorating", _at(rng, day), kind=kind)))
    for index, subject in enumerate(others):
        kind = "lookalike" if index < lookalikes else "recovering"
        day = int((0.02 + 0.6 * rng.random()) * config.days)
        cast.append((subject, Story("recovering", _at(rng, day), kind=kind)))
    return sorted(cast, key=lambda item: item[0])


def _at(rng: random.Random, day: int) -> int:
    return day * DAY + time_of_day(rng, True)
