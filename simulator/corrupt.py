"""Deliberately bad messages, each built to earn exactly one dead-letter reason.

Department systems send broken input: truncated JSON, a kind nobody knows, a
missing or mistyped field, a mistyped credit code, a district code that is the
city's own, a negative fine, a report dated before the fact. Each bad message here
starts from a fresh valid event and receives one fault, chosen so that
:func:`creditbrain.schemas.parse.parse_event` gives the intended reason (a second
fault of higher precedence would change the verdict, so there never is one).

Two reasons are judged against the subject's state, not by the parser: a repair
or objection citing a record the subject does not have (``unknown_reference``: a
random id, or another subject's real record), and a repair before the minimum
period (``repair_too_early``: a real recent record of the same subject).

Bad messages are extra messages: the stories and the valid stream do not depend
on them, and they draw from their own random generator.
"""

from __future__ import annotations

import json
import random
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from creditbrain.schemas.parse import Reason
from creditbrain.simulator.calendar import DAY, Clock
from creditbrain.simulator.catalogue import GOVERNMENT, PERSON
from creditbrain.simulator.payloads import Payloads
from creditbrain.simulator.plan import Plan
from creditbrain.simulator.population import Population
from creditbrain.simulator.records import Repairable
from creditbrain.simulator.wire import SimEvent, Wire, new_event_id

#: Relative frequency of each reason among bad messages.
REASON_WEIGHTS: dict[Reason, float] = {
    Reason.BAD_JSON: 1.0,
    Reason.UNKNOWN_KIND: 1.0,
    Reason.MISSING_FIELD: 1.5,
    Reason.BAD_FIELD: 1.5,
    Reason.BAD_CREDIT_CODE: 1.5,
    Reason.BAD_PERSON_ID: 0.5,
    Reason.UNKNOWN_SECTOR: 1.0,
    Reason.UNKNOWN_DISTRICT: 1.0,
    Reason.NEGATIVE_AMOUNT: 1.0,
    Reason.FUTURE_EVENT: 1.0,
    Reason.UNKNOWN_REFERENCE: 0.7,
    Reason.REPAIR_TOO_EARLY: 0.3,
}
_BASE_KINDS = (
    "license", "license", "commitment", "penalty", "penalty", "judgment", "tax_arrears",
    "social_insurance_arrears", "wage_arrears", "commendation", "dishonest_debtor",
)  # fmt: skip
_AMOUNT_FIELDS = {
    "penalty": ("amount_cny",),
    "judgment": ("amount_cny",),
    "dishonest_debtor": ("amount_cny",),
    "tax_arrears": ("amount_cny", "months_overdue"),
    "social_insurance_arrears": ("amount_cny", "months_overdue", "employees_affected"),
    "wage_arrears": ("amount_cny", "workers_affected"),
}
_WRONG_KINDS = ("penalty_notice", "credit_report", "inspection", "PENALTY", "Judgment")
_WRONG_SECTORS = ("fisheries", "mining", "Market_Regulation", "food-drug", "education", "")
_WRONG_DISTRICTS = ("371100", "371101", "370202", "3711O2", "371104")
_ENVELOPE_FIELDS = (
    "event_id", "kind", "subject", "source", "sector", "district", "occurred_at",
    "reported_at", "payload", "schema_version",
)  # fmt: skip
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"

Event = dict[str, Any]


class ErrorInjector:
    """Makes the bad messages of one run and counts them by intended reason.

    Parameters
    ----------
    population, clock
        The city and its time.
    rng
        A generator of its own, so the valid stream does not depend on the error rate.
    repairable
        The run's recent repairable records, targets of bad repairs.
    rate
        Share of all messages that are bad.
    """

    def __init__(
        self,
        population: Population,
        clock: Clock,
        rng: random.Random,
        repairable: deque[Repairable],
        rate: float,
    ) -> None:
        self._population = population
        self._clock = clock
        self._rng = rng
        self._repairable = repairable
        #: Chance that a bad message follows a valid one: ``rate`` of all messages are bad.
        self.chance = rate / (1.0 - rate)
        #: The draw compared with :attr:`chance` after every valid message.
        self.draw = rng.random
        self._payloads = Payloads(population, clock)
        self._wire = Wire(population, clock, rng)
        self._organisations = range(population.ranges[0][0], population.ranges[GOVERNMENT][1])
        self._persons = population.of_type(PERSON)
        weights = dict(REASON_WEIGHTS)
        if not self._persons:
            weights[Reason.BAD_PERSON_ID] = 0.0
        if not self._organisations:
            weights[Reason.BAD_CREDIT_CODE] = 0.0
        self._reasons = tuple(weights)
        self._weights = tuple(weights.values())
        self.counts: Counter[str] = Counter()
        self._faults: dict[Reason, Callable[[Event, str], None]] = {
            Reason.UNKNOWN_KIND: self._unknown_kind,
            Reason.MISSING_FIELD: self._missing_field,
            Reason.BAD_FIELD: self._bad_field,
            Reason.BAD_CREDIT_CODE: self._bad_code,
            Reason.BAD_PERSON_ID: self._bad_code,
            Reason.UNKNOWN_SECTOR: self._unknown_sector,
            Reason.UNKNOWN_DISTRICT: self._unknown_district,
            Reason.NEGATIVE_AMOUNT: self._negative_amount,
        }

    def make(self, second: int) -> SimEvent:
        """A bad message happening at ``second``."""
        reason = self._rng.choices(self._reasons, self._weights)[0]
        if reason is Reason.REPAIR_TOO_EARLY:
            early = self._too_early(second)
            # Early in a run no record is recent enough to be repaired too early.
            return early if early is not None else self._unknown_reference(second)
        if reason is Reason.UNKNOWN_REFERENCE:
            return self._unknown_reference(second)
        return self._faulty(reason, second)

    def _subject(self, reason: Reason) -> int:
        rng = self._rng
        if reason is Reason.BAD_PERSON_ID:
            return rng.choice(self._persons)
        if reason is Reason.BAD_CREDIT_CODE:
            return rng.choice(self._organisations)
        return rng.randrange(len(self._population))

    def _base(self, kind: str, subject: int, second: int, plan: Plan) -> SimEvent:
        source, payload = self._payloads.render(kind, self._rng, subject, second, plan)
        return self._wire.event(kind, subject, second, source, payload, plan.ref_event_id)

    def _label(self, event: SimEvent, reason: Reason, line: str | None = None) -> SimEvent:
        """``event`` as a bad message for ``reason``, with its line replaced if given."""
        self.counts[reason.value] += 1
        event.error = reason.value
        if line is not None:
            event.value = line.encode()
        return event

    def _faulty(self, reason: Reason, second: int) -> SimEvent:
        rng = self._rng
        subject = self._subject(reason)
        kinds = tuple(_AMOUNT_FIELDS) if reason is Reason.NEGATIVE_AMOUNT else _BASE_KINDS
        kind = rng.choice(kinds)
        base = self._base(kind, subject, second, Plan())
        line = base.value.decode()
        if reason is Reason.BAD_JSON:
            return self._label(base, reason, self._bad_json(line))
        event: Event = json.loads(line)
        if reason is Reason.FUTURE_EVENT:
            # Office hours start at 07:00, so there is always room before occurred_at.
            earlier = 1 + int(min(3 * DAY, second - 1) * rng.random())
            event["reported_at"] = self._clock.stamp(second - earlier)
        else:
            self._faults[reason](event, kind)
        return self._label(
            base, reason, json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        )

    def _bad_json(self, line: str) -> str:
        rng = self._rng
        roll = rng.random()
        if roll < 0.5:
            return line[: len(line) // 4 + int(len(line) // 2 * rng.random())]
        if roll < 0.7:
            return line.replace('"payload":', '"payload"', 1)
        if roll < 0.85:
            return line[:-1] + ",}"
        return repr(json.loads(line))  # single quotes, as a Python script might log it

    def _unknown_kind(self, event: Event, kind: str) -> None:
        event["kind"] = self._rng.choice(_WRONG_KINDS)

    def _missing_field(self, event: Event, kind: str) -> None:
        rng = self._rng
        roll = rng.random()
        if roll < 0.5:
            del event[rng.choice(_ENVELOPE_FIELDS)]
        elif roll < 0.6:
            del event["subject"][rng.choice(("id", "type"))]
        else:
            payload = event["payload"]
            del payload[next(iter(payload))]  # the first payload field is always required

    def _bad_field(self, event: Event, kind: str) -> None:
        rng = self._rng
        payload = event["payload"]
        options: list[Callable[[], None]] = [
            lambda: event.update(event_id="EV-" + str(rng.randrange(10**8))),
            lambda: event.update(occurred_at=event["occurred_at"][:19].replace("T", " ")),
            lambda: event.update(schema_version=2),
            lambda: event["subject"].update(type="company"),
            lambda: event["subject"].update(name=rng.randrange(10**6)),
            lambda: event.update(payload=[payload]),
        ]
        if "amount_cny" in payload:
            options.append(lambda: payload.update(amount_cny="一万元"))
        if "months_overdue" in payload:
            options.append(lambda: payload.update(months_overdue="three"))
        if "severity" in payload:
            options.append(lambda: payload.update(severity="moderate"))
        if "role" in payload:
            options.append(lambda: payload.update(role="witness"))
        rng.choice(options)()

    def _bad_code(self, event: Event, kind: str) -> None:
        rng = self._rng
        code: str = event["subject"]["id"]
        roll = rng.random()
        if roll < 0.5:
            wrong = rng.choice([c for c in _CODE_CHARS if c not in (code[-1], "X")])
            event["subject"]["id"] = code[:-1] + wrong  # a typo in the check digit
        elif roll < 0.8:
            event["subject"]["id"] = code[:-1]  # a character lost
        else:
            # Two neighbours swapped: the MOD 31 / MOD 11 check digits catch every such swap.
            i = next((j for j in range(4, 16) if code[j] != code[j + 1]), 2)
            event["subject"]["id"] = code[:i] + code[i + 1] + code[i] + code[i + 2 :]

    def _unknown_sector(self, event: Event, kind: str) -> None:
        event["sector"] = self._rng.choice(_WRONG_SECTORS)

    def _unknown_district(self, event: Event, kind: str) -> None:
        event["district"] = self._rng.choice(_WRONG_DISTRICTS)

    def _negative_amount(self, event: Event, kind: str) -> None:
        payload = event["payload"]
        name = self._rng.choice(_AMOUNT_FIELDS[kind])
        payload[name] = -abs(payload.get(name) or 1)

    def _too_early(self, second: int) -> SimEvent | None:
        """A repair of a recent record of the same subject, before its minimum period."""
        target = next((r for r in reversed(self._repairable) if second - r[2] < r[3] - DAY), None)
        if target is None:
            return None
        subject, ref = target[0], target[1]
        repair = self._base("repair", subject, second, Plan(ref_event_id=ref))
        return self._label(repair, Reason.REPAIR_TOO_EARLY)

    def _unknown_reference(self, second: int) -> SimEvent:
        """A repair or objection citing a random id or another subject's real record."""
        rng = self._rng
        subject = rng.randrange(len(self._population))
        others = [r[1] for r in self._repairable if r[0] != subject]
        ref = rng.choice(others) if others and rng.random() < 0.5 else new_event_id(rng)
        kind = rng.choice(("repair", "objection"))
        citing = self._base(kind, subject, second, Plan(ref_event_id=ref, status="filed"))
        return self._label(citing, Reason.UNKNOWN_REFERENCE)
