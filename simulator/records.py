"""Planned records become wire events, and each may set off what follows it.

A background record draws what follows at random: a general penalty is repaired
after its three-month minimum by a quarter of subjects, or contested (异议: filed,
then upheld or rejected three to five days later); a dishonest-debtor listing brings
a consumption restriction and, later, the court's removal; an arrears report is
followed by the next month's report with more months overdue, or by
``arrears_cleared``. Story records (``plan.scripted``) follow their script only.

Repairs and objections always reference a real, earlier record of the same
subject, and repairs come only after the minimum period of DOMAIN.md.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable

from creditbrain.schemas.events import KINDS
from creditbrain.simulator.calendar import DAY, Clock
from creditbrain.simulator.payloads import Payloads
from creditbrain.simulator.plan import Plan
from creditbrain.simulator.population import Population
from creditbrain.simulator.wire import SimEvent, Wire

#: Minimum time before a repair (DOMAIN.md); records absent here may be repaired any time.
MIN_REPAIR = {"general": 90 * DAY, "serious": 180 * DAY, "commitment_breach": 90 * DAY}
ARREARS_KINDS = ("tax_arrears", "social_insurance_arrears", "wage_arrears")

#: (subject, event id, second, minimum repair period) of a repairable record.
Repairable = tuple[int, str, int, int]
Schedule = Callable[[int, int, str, Plan], None]
Handler = Callable[[int, int, Plan], SimEvent | None]


class Records:
    """Materialises planned records for one run and keeps what the ground truth needs.

    Parameters
    ----------
    population, clock
        The city and its time.
    rng
        The run's event generator; every draw comes from it, in heap order.
    schedule
        ``schedule(second, subject, kind, plan)`` adds a future record.
    """

    def __init__(
        self, population: Population, clock: Clock, rng: random.Random, schedule: Schedule
    ) -> None:
        self._rng = rng
        self._schedule = schedule
        self._payloads = Payloads(population, clock)
        self._wire = Wire(population, clock, rng)
        self.handlers: dict[str, Handler] = {kind: getattr(self, f"_{kind}") for kind in KINDS}
        #: Valid events emitted, by kind.
        self.counts: Counter[str] = Counter()
        #: subject -> (second, kind, event id) of its first red-warning record.
        self.first_red: dict[int, tuple[int, str, str]] = {}
        #: Recent repairable records nobody contests or repairs: targets for bad repairs.
        self.repairable: deque[Repairable] = deque(maxlen=256)
        self._open_arrears: set[int] = set()

    def reserve_arrears(self, subject: int) -> None:
        """Keep background arrears chains away from a subject whose story owns its arrears."""
        self._open_arrears.update(subject * 3 + i for i in range(3))

    def _emit(
        self,
        kind: str,
        subject: int,
        second: int,
        source: str,
        payload: str,
        ref: str | None = None,
    ) -> SimEvent:
        self.counts[kind] += 1
        return self._wire.event(kind, subject, second, source, payload, ref)

    def _red(self, subject: int, second: int, event: SimEvent) -> None:
        self.first_red.setdefault(subject, (second, event.kind, event.event_id))

    def _follow(
        self,
        parent: SimEvent,
        subject: int,
        second: int,
        fact: str,
        then: tuple[tuple[int, str, str], ...],
        scripted: bool,
    ) -> None:
        """Schedule records that cite ``parent``: its id, case, commitment, list or kind."""
        for delay, kind, variant in then:
            plan = Plan(scripted=scripted)
            if kind in ("repair", "objection"):
                plan.ref_event_id = parent.event_id
                plan.status = variant or None
            elif kind == "consumption_restriction":
                plan.case_no = fact
            elif kind == "commitment_breach":
                plan.commitment_no = fact
            elif kind == "list_exit":
                plan.list_name = fact
            elif kind == "arrears_cleared":
                plan.ref_kind = parent.kind
            self._schedule(second + delay, subject, kind, plan)

    def _contest_or_repair(
        self,
        event: SimEvent,
        subject: int,
        second: int,
        minimum: int,
        objection: float,
        repair: float,
    ) -> None:
        """Maybe an objection (filed, then decided) or a repair after ``minimum``."""
        rng = self._rng
        roll = rng.random()
        then: tuple[tuple[int, str, str], ...]
        if roll < objection:
            filed = DAY * (3 + int(27 * rng.random()))
            decided = filed + DAY * (3 + int(3 * rng.random()))
            verdict = "upheld" if rng.random() < 0.3 else "rejected"
            then = ((filed, "objection", "filed"), (decided, "objection", verdict))
        elif roll < objection + repair:
            then = ((minimum + DAY + int(180 * DAY * rng.random()), "repair", ""),)
        else:
            if minimum:
                self.repairable.append((subject, event.event_id, second, minimum))
            return
        self._follow(event, subject, second, "", then, scripted=False)

    def _opens_chain(self, subject: int, index: int, plan: Plan) -> bool:
        """Whether a new arrears chain may start (one open chain per subject and kind)."""
        if plan.scripted or plan.chained:
            return True
        key = subject * 3 + index
        if key in self._open_arrears:
            return False
        self._open_arrears.add(key)
        return True

    def _continue_chain(
        self, event: SimEvent, subject: int, second: int, following: Plan, clear: float, more: float
    ) -> None:
        """Clear the arrears, report them again a month on, or leave them standing."""
        rng = self._rng
        roll = rng.random()
        if roll < clear:
            delay = DAY * (2 + int(40 * rng.random()))
            self._follow(event, subject, second, "", ((delay, "arrears_cleared", ""),), False)
        elif roll < clear + more:
            following.chained = True
            self._schedule(
                second + DAY * (27 + int(8 * rng.random())), subject, event.kind, following
            )

    def _penalty(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload, severity = self._payloads.penalty(self._rng, subject, second, plan)
        event = self._emit("penalty", subject, second, source, payload)
        if plan.then:
            self._follow(event, subject, second, "", plan.then, plan.scripted)
        elif not plan.scripted and severity != "simple":
            repair = 0.25 if severity == "general" else 0.15
            self._contest_or_repair(event, subject, second, MIN_REPAIR[severity], 0.04, repair)
        return event

    def _judgment(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload, role = self._payloads.judgment(self._rng, subject, second, plan)
        event = self._emit("judgment", subject, second, source, payload)
        if plan.then:
            self._follow(event, subject, second, "", plan.then, plan.scripted)
        elif not plan.scripted and role != "plaintiff":
            self._contest_or_repair(event, subject, second, 0, 0.03, 0.08)
        return event

    def _dishonest_debtor(self, second: int, subject: int, plan: Plan) -> SimEvent:
        rng = self._rng
        source, payload, case_no = self._payloads.dishonest_debtor(rng, subject, second, plan)
        event = self._emit("dishonest_debtor", subject, second, source, payload)
        self._red(subject, second, event)
        then = plan.then
        if not plan.scripted:
            if rng.random() < 0.6:
                then += ((int(3 * DAY * rng.random()), "consumption_restriction", ""),)
            if rng.random() < 0.35:  # the court removes the listing once the debt is paid
                then += ((30 * DAY + int(270 * DAY * rng.random()), "repair", ""),)
        self._follow(event, subject, second, case_no, then, plan.scripted)
        return event

    def _consumption_restriction(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.consumption_restriction(self._rng, subject, second, plan)
        event = self._emit("consumption_restriction", subject, second, source, payload)
        if not plan.scripted and self._rng.random() < 0.3:
            removal = ((30 * DAY + int(270 * DAY * self._rng.random()), "repair", ""),)
            self._follow(event, subject, second, "", removal, False)
        return event

    def _tax_arrears(self, second: int, subject: int, plan: Plan) -> SimEvent | None:
        if not self._opens_chain(subject, 0, plan):
            return None
        rng = self._rng
        source, payload, months, amount = self._payloads.tax_arrears(rng, subject, second, plan)
        event = self._emit("tax_arrears", subject, second, source, payload)
        if not plan.scripted and months < 24:
            following = Plan(
                months_overdue=months + 1, amount_cny=amount * (1.02 + 0.2 * rng.random())
            )
            self._continue_chain(event, subject, second, following, clear=0.55, more=0.3)
        return event

    def _social_insurance_arrears(self, second: int, subject: int, plan: Plan) -> SimEvent | None:
        if not self._opens_chain(subject, 1, plan):
            return None
        rng = self._rng
        source, payload, months, amount, employees = self._payloads.social_insurance_arrears(
            rng, subject, second, plan
        )
        event = self._emit("social_insurance_arrears", subject, second, source, payload)
        if not plan.scripted and months < 24:
            following = Plan(
                months_overdue=months + 1,
                workers=employees,
                amount_cny=amount * (months + 1) / months,
            )
            self._continue_chain(event, subject, second, following, clear=0.5, more=0.35)
        return event

    def _wage_arrears(self, second: int, subject: int, plan: Plan) -> SimEvent | None:
        if not self._opens_chain(subject, 2, plan):
            return None
        source, payload, workers, amount = self._payloads.wage_arrears(
            self._rng, subject, second, plan
        )
        event = self._emit("wage_arrears", subject, second, source, payload)
        if workers >= 10:
            self._red(subject, second, event)
        if not plan.scripted:
            following = Plan(workers=workers, amount_cny=amount * 1.3)
            self._continue_chain(event, subject, second, following, clear=0.8, more=0.1)
        return event

    def _arrears_cleared(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.arrears_cleared(self._rng, subject, second, plan)
        if not plan.scripted and plan.ref_kind:
            self._open_arrears.discard(subject * 3 + ARREARS_KINDS.index(plan.ref_kind))
        return self._emit("arrears_cleared", subject, second, source, payload)

    def _license(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.license(self._rng, subject, second, plan)
        return self._emit("license", subject, second, source, payload)

    def _commendation(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.commendation(self._rng, subject, second, plan)
        return self._emit("commendation", subject, second, source, payload)

    def _commitment(self, second: int, subject: int, plan: Plan) -> SimEvent:
        rng = self._rng
        source, payload, number = self._payloads.commitment(rng, subject, second, plan)
        event = self._emit("commitment", subject, second, source, payload)
        if not plan.scripted and rng.random() < 0.03:
            breach = ((30 * DAY + int(270 * DAY * rng.random()), "commitment_breach", ""),)
            self._follow(event, subject, second, number, breach, False)
        return event

    def _commitment_breach(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.commitment_breach(self._rng, subject, second, plan)
        event = self._emit("commitment_breach", subject, second, source, payload)
        if not plan.scripted:
            minimum = MIN_REPAIR["commitment_breach"]
            self._contest_or_repair(event, subject, second, minimum, 0.0, 0.2)
        return event

    def _list_entry(self, second: int, subject: int, plan: Plan) -> SimEvent:
        rng = self._rng
        source, payload = self._payloads.list_entry(rng, subject, second, plan)
        event = self._emit("list_entry", subject, second, source, payload)
        name = plan.list_name or "key_attention"
        if name == "serious_dishonesty":
            self._red(subject, second, event)
        if not plan.scripted:
            chance, low, span = _LIST_EXIT[name]
            if rng.random() < chance:
                exit_after = ((DAY * (low + int(span * rng.random())), "list_exit", ""),)
                self._follow(event, subject, second, name, exit_after, False)
        return event

    def _list_exit(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.list_exit(self._rng, subject, second, plan)
        return self._emit("list_exit", subject, second, source, payload)

    def _repair(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.repair(self._rng, subject, second, plan)
        return self._emit("repair", subject, second, source, payload, plan.ref_event_id)

    def _objection(self, second: int, subject: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.objection(self._rng, subject, second, plan)
        return self._emit("objection", subject, second, source, payload, plan.ref_event_id)


#: Background list entries: chance of a later exit, and its delay (first day, days spread).
_LIST_EXIT = {
    "key_attention": (0.6, 90, 210),
    "serious_dishonesty": (0.25, 365, 365),
    "red": (0.1, 180, 185),
}
