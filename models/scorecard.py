"""The public credit score (公共信用综合评价): weights and periods as data, rules as pure functions.

A subject's score is ``clamp(1000 - Σ deductions + min(Σ bonuses, cap), 0, 1000)``
over the records that count at the moment asked about (DOMAIN.md, "Default
scorecard"). Every record belongs to a *record class*: its kind, refined by the
attribute that changes how it is scored (``penalty.general``,
``judgment.plaintiff``, ``list_entry.red``, ``commendation.city``, ``tax_arrears``
...). :class:`ScorecardConfig` gives per class its deduction or bonus, how long
it counts (publicity period) and after how long it may be repaired; a class
missing from ``publicity_days`` never counts, one missing from
``repair_after_days`` cannot be repaired. The defaults are DOMAIN.md's tables; a
deployment may override them per sector and weigh persons apart
(:mod:`creditbrain.models.overrides`): a subject is scored by the scorecard of its
sector and type (:func:`resolved`).

Two functions do the work, and know nothing of Kafka or storage:

* :func:`apply_event` adds an event to a subject's :class:`EntityState`, or says
  why not (duplicate id, unknown reference, repair too early);
* :func:`evaluate` scores a state *as of* a moment T: the records with
  ``occurred_at <= T``, judged at T. It depends only on the set of applied records,
  never on their arrival order, so a replay scores exactly as the live stream did.

Periods are half-open: a record that counts for 365 days counts from its
``occurred_at`` up to, not including, ``occurred_at + 365 days``; a repair allowed
after 90 days is accepted from exactly ``occurred_at + 90 days`` on; anything that
ends a record (repair, upheld objection, list exit, arrears cleared, a later
arrears report) ends it from its own ``occurred_at`` on.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    model_validator,
)

from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import DAY_MS as DAY_MS
from creditbrain.core.eventtime import from_epoch_ms
from creditbrain.models.overrides import (
    ScorecardInUse,
    ScorecardPatch,
    SectorOverride,
    in_use,
    layers,
    merged,
)
from creditbrain.models.record_class import CommendationLevel as CommendationLevel
from creditbrain.models.record_class import RecordClass as RecordClass
from creditbrain.schemas.events import CreditEvent, SubjectType
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.reference import SECTORS
from creditbrain.schemas.state import EntityState, Grade, Record, ScoreReason, ScoreResult

MAX_SCORE = 1000

_YEAR, _3_YEARS = 365, 3 * 365
_DEDUCTIONS: dict[RecordClass, int] = {
    "penalty.general": 20,
    "penalty.serious": 60,
    "judgment.defendant": 30,
    "judgment.judgment_debtor": 30,
    "dishonest_debtor": 200,
    "consumption_restriction": 80,
    "wage_arrears": 100,
    "list_entry.serious_dishonesty": 300,
    "list_entry.key_attention": 100,
    "commitment_breach": 50,
}
_BONUSES: dict[RecordClass, int] = {
    "list_entry.red": 20,
    "commendation.city": 10,
    "commendation.province": 20,
    "commendation.national": 40,
}
_PUBLICITY_DAYS: dict[RecordClass, int | None] = {
    "penalty.general": _YEAR,
    "penalty.serious": _3_YEARS,
    "judgment.defendant": _3_YEARS,
    "judgment.judgment_debtor": _3_YEARS,
    "dishonest_debtor": None,
    "consumption_restriction": None,
    "tax_arrears": None,
    "social_insurance_arrears": None,
    "wage_arrears": None,
    "list_entry.serious_dishonesty": _3_YEARS,
    "list_entry.key_attention": _YEAR,
    "list_entry.red": _3_YEARS,
    "commitment_breach": _YEAR,
    "commendation.city": _3_YEARS,
    "commendation.province": _3_YEARS,
    "commendation.national": _3_YEARS,
}
_REPAIR_AFTER_DAYS: dict[RecordClass, int] = {
    "penalty.general": 90,
    "penalty.serious": 180,
    "judgment.defendant": 0,
    "judgment.judgment_debtor": 0,
    "dishonest_debtor": 0,
    "consumption_restriction": 0,
    "tax_arrears": 0,
    "social_insurance_arrears": 0,
    "wage_arrears": 0,
    "list_entry.serious_dishonesty": 0,
    "list_entry.key_attention": 0,
    "commitment_breach": 90,
}
# Scored by a months-overdue rule, not by a flat entry of the deduction table.
_BY_MONTHS = ("tax_arrears", "social_insurance_arrears")


class PenaltyAmountRule(BaseModel):
    """Extra penalty deduction: ``per_step`` for each whole ``step_cny``, at most ``max_extra``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step_cny: PositiveInt = 100_000
    per_step: NonNegativeInt = 10
    max_extra: NonNegativeInt = 40


class MonthsOverdueRule(BaseModel):
    """Arrears deduction ``min(max_total, base + per_step × floor(months / step_months))``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: NonNegativeInt
    step_months: PositiveInt
    per_step: NonNegativeInt
    max_total: NonNegativeInt


def _overridden(config: ScorecardConfig) -> Iterator[tuple[str, SubjectType]]:
    """One subject of each kind an override concerns (sector "" : of no overridden sector)."""
    if config.persons is not None:
        yield "", SubjectType.PERSON
    for sector in config.sectors:
        yield sector, SubjectType.ENTERPRISE
        yield sector, SubjectType.PERSON


class ScorecardConfig(BaseModel):
    """The weights and periods of a scorecard; the defaults are DOMAIN.md's.

    Parameters
    ----------
    deductions, bonuses
        Points by record class while a record counts (deductions are subtracted).
    bonus_cap
        At most this many bonus points in total.
    penalty_amount
        The extra deduction of penalties by amount.
    tax_arrears_months, social_insurance_arrears_months
        The deductions of those arrears by months overdue.
    publicity_days
        How long a record of a class counts, in days; ``null`` (JSON): until
        something ends it (repair, list exit, arrears cleared, a later report).
        A class not listed never counts.
    repair_after_days
        A repair is accepted from this many days after the record; a class not
        listed cannot be repaired.
    commendation_default_level
        How a commendation without ``level`` is scored (``None``: not at all).
    grade_a_min, grade_b_min, grade_c_min
        Lowest score of grades A, B and C; below C is D.
    persons
        Laid over the above for persons: their separate weighting (:mod:`.overrides`).
    sectors
        Sector key -> its override, laid over the above for the subjects of that
        sector (and its ``persons`` part for the persons in it).

    Examples
    --------
    >>> ScorecardConfig().deductions["penalty.serious"]
    60
    >>> ScorecardConfig(grade_a_min=700, grade_b_min=800)
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ScorecardConfig
    ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    deductions: dict[RecordClass, NonNegativeInt] = Field(default_factory=lambda: dict(_DEDUCTIONS))
    bonuses: dict[RecordClass, NonNegativeInt] = Field(default_factory=lambda: dict(_BONUSES))
    bonus_cap: NonNegativeInt = 100
    penalty_amount: PenaltyAmountRule = PenaltyAmountRule()
    tax_arrears_months: MonthsOverdueRule = MonthsOverdueRule(
        base=30, step_months=3, per_step=10, max_total=90
    )
    social_insurance_arrears_months: MonthsOverdueRule = MonthsOverdueRule(
        base=0, step_months=1, per_step=10, max_total=120
    )
    publicity_days: dict[RecordClass, NonNegativeInt | None] = Field(
        default_factory=lambda: dict(_PUBLICITY_DAYS)
    )
    repair_after_days: dict[RecordClass, NonNegativeInt] = Field(
        default_factory=lambda: dict(_REPAIR_AFTER_DAYS)
    )
    commendation_default_level: CommendationLevel | None = "city"
    grade_a_min: int = Field(default=900, ge=1, le=MAX_SCORE)
    grade_b_min: int = Field(default=800, ge=1, le=MAX_SCORE)
    grade_c_min: int = Field(default=650, ge=1, le=MAX_SCORE)
    persons: ScorecardPatch | None = None
    sectors: dict[str, SectorOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ScorecardConfig:
        if not self.grade_a_min > self.grade_b_min > self.grade_c_min:
            raise ValueError("grade minimums must fall: grade_a_min > grade_b_min > grade_c_min")
        both = sorted(set(self.deductions) & set(self.bonuses))
        if both:
            raise ValueError(f"{', '.join(both)}: both a deduction and a bonus")
        for name in _BY_MONTHS:
            if name in self.deductions or name in self.bonuses:
                raise ValueError(f"{name} is scored by {name}_months, not by the tables")
        # Every scorecard an override leads to must be a valid one: said when the file
        # is read, not when the first subject of a sector arrives.
        for sector, subject_type in _overridden(self):
            try:
                resolved(self, sector, subject_type)
            except ValidationError as error:
                where = layers(self.persons, self.sectors, sector, subject_type)[-1][0]
                raise ValueError(f"{where}: {_first_error(error)}") from None
        return self

    def in_use(self, sector: str, subject_type: SubjectType) -> ScorecardInUse:
        """The overrides that score a subject of ``sector`` and ``subject_type``.

        >>> DEFAULT_SCORECARD.in_use("finance", SubjectType.PERSON).overrides
        []
        """
        return in_use(self.persons, self.sectors, sector, subject_type)


DEFAULT_SCORECARD = ScorecardConfig()


def load_scorecard(path: Path | None, known_sectors: Collection[str] = SECTORS) -> ScorecardConfig:
    """A scorecard from a JSON or TOML file; what the file leaves out keeps its default.

    Tables (``deductions``, ``publicity_days``, ...) are merged key by key, so a
    file names only what it changes; in TOML quote the dotted class names::

        bonus_cap = 60
        [deductions]
        "penalty.general" = 30

    Per-sector overrides and the weighting of persons go under ``[sectors.<key>]``
    and ``[persons]`` (:mod:`creditbrain.models.overrides`); a sector key must be
    one of ``known_sectors``, so a misspelt sector is an error, not an override
    that never applies.

    Raises :class:`~creditbrain.core.errors.ConfigurationError` with a one-line message.

    >>> load_scorecard(None) is DEFAULT_SCORECARD
    True
    """
    if path is None:
        return DEFAULT_SCORECARD
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigurationError(f"scorecard {path}: expected a .json or .toml file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "not UTF-8"
        raise ConfigurationError(f"scorecard {path}: {why}") from error
    try:
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except ValueError as error:
        raise ConfigurationError(f"scorecard {path}: not valid {suffix[1:]}: {error}") from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"scorecard {path}: expected a table of settings")
    sectors = data.get("sectors")
    if isinstance(sectors, dict):
        unknown = sorted(set(sectors) - set(known_sectors))
        if unknown:
            raise ConfigurationError(
                f"scorecard {path}: sectors.{unknown[0]}: not a sector of the deployment"
            )
    try:
        return ScorecardConfig.model_validate(_merged(DEFAULT_SCORECARD.model_dump(), data))
    except ValidationError as error:
        raise ConfigurationError(f"scorecard {path}: {_first_error(error)}") from error


def _first_error(error: ValidationError) -> str:
    """The first problem of ``error`` on one line: where, then what."""
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    where = f"{where}: " if where else ""
    return f"{where}{str(first['msg']).removeprefix('Value error, ')}"


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- the compiled form: what evaluate() looks up per record -----------------------------

_FLAT, _PENALTY, _TAX, _SOCIAL = 0, 1, 2, 3
_FORMULA = {"penalty": _PENALTY, "tax_arrears": _TAX, "social_insurance_arrears": _SOCIAL}
_ARREARS = frozenset({"tax_arrears", "social_insurance_arrears", "wage_arrears"})
# Kinds the first pass of evaluate() collects: what ends or voids other records.
_ENDERS = frozenset({"repair", "objection", "arrears_cleared", "list_exit"}) | _ARREARS
_REFERRING = ("repair", "objection")
_NEVER = -(1 << 62)

ClassKey = tuple[str, str | None]
Rule = tuple[int, int | None, int]  # effect, publicity period in ms (None: unlimited), formula
_NO_RULES: dict[str | None, Rule] = {}


@dataclass(frozen=True, slots=True)
class _Compiled:
    counting: dict[str, dict[str | None, Rule]]  # kind -> label -> rule
    repair_ms: dict[ClassKey, int]
    penalty: tuple[int, int, int]
    tax: tuple[int, int, int, int]
    social: tuple[int, int, int, int]
    bonus_cap: int
    grades: tuple[int, int, int]


def _class_key(name: str) -> ClassKey:
    kind, _, label = name.partition(".")
    return kind, label or None


def _months(rule: MonthsOverdueRule) -> tuple[int, int, int, int]:
    return rule.base, rule.step_months, rule.per_step, rule.max_total


def _compile(config: ScorecardConfig) -> _Compiled:
    counting: dict[str, dict[str | None, Rule]] = {}
    for name, days in config.publicity_days.items():
        kind, label = _class_key(name)
        effect = config.bonuses.get(name, 0) - config.deductions.get(name, 0)
        period = None if days is None else days * DAY_MS
        counting.setdefault(kind, {})[label] = (effect, period, _FORMULA.get(kind, _FLAT))
    repair_ms = {_class_key(name): days * DAY_MS for name, days in config.repair_after_days.items()}
    level = config.commendation_default_level
    if level is not None:
        commendations = counting.get("commendation", {})
        if level in commendations:
            commendations[None] = commendations[level]
        if ("commendation", level) in repair_ms:
            repair_ms["commendation", None] = repair_ms["commendation", level]
    amount = config.penalty_amount
    return _Compiled(
        counting=counting,
        repair_ms=repair_ms,
        penalty=(amount.step_cny, amount.per_step, amount.max_extra),
        tax=_months(config.tax_arrears_months),
        social=_months(config.social_insurance_arrears_months),
        bonus_cap=config.bonus_cap,
        grades=(config.grade_a_min, config.grade_b_min, config.grade_c_min),
    )


# Keyed by identity: a frozen config never changes, and the entry keeps it alive so the
# id cannot be reused. A handful of configs exist per process; the bound is a safeguard.
_CACHE: dict[int, tuple[ScorecardConfig, _Compiled]] = {}


def _compiled(config: ScorecardConfig) -> _Compiled:
    hit = _CACHE.get(id(config))
    if hit is not None and hit[0] is config:
        return hit[1]
    if len(_CACHE) >= 32:
        _CACHE.clear()
    compiled = _compile(config)
    _CACHE[id(config)] = (config, compiled)
    return compiled


def resolved(config: ScorecardConfig, sector: str, subject_type: SubjectType) -> ScorecardConfig:
    """The scorecard of a subject of ``sector`` and ``subject_type``: overrides laid over.

    Without an override that concerns the subject, ``config`` itself.

    >>> config = ScorecardConfig(sectors={"work_safety": {"deductions": {"penalty.general": 45}}})
    >>> resolved(config, "work_safety", SubjectType.ENTERPRISE).deductions["penalty.general"]
    45
    >>> resolved(config, "finance", SubjectType.ENTERPRISE) is config
    True
    """
    found = layers(config.persons, config.sectors, sector, subject_type)
    if not found:
        return config
    base = config.model_dump(exclude={"persons", "sectors"})
    for _, patch in found:
        base = merged(base, patch)
    return ScorecardConfig.model_validate(base)


# Per (config, sector with an override or "", person?): the compiled scorecard.
_RESOLVED: dict[tuple[int, str, bool], tuple[ScorecardConfig, _Compiled]] = {}


def _rules(config: ScorecardConfig, state: EntityState) -> _Compiled:
    """The compiled scorecard for ``state``'s subject: its sector's and type's overrides."""
    if config.persons is None and not config.sectors:
        return _compiled(config)
    person = state.subject_type is SubjectType.PERSON
    sector = state.sector if state.sector in config.sectors else ""
    key = (id(config), sector, person)
    hit = _RESOLVED.get(key)
    if hit is not None and hit[0] is config:
        return hit[1]
    if len(_RESOLVED) >= 256:
        _RESOLVED.clear()
    compiled = _compile(resolved(config, sector, state.subject_type))
    _RESOLVED[key] = (config, compiled)
    return compiled


def _formula_effect(
    rules: _Compiled, formula: int, effect: int, amount: float | None, months: int | None
) -> int:
    if formula == _PENALTY:
        step, per_step, max_extra = rules.penalty
        return effect - (min(max_extra, per_step * int(amount // step)) if amount else 0)
    base, step, per_step, max_total = rules.tax if formula == _TAX else rules.social
    return -min(max_total, base + per_step * ((months or 0) // step))


def effect_of(record: Record, config: ScorecardConfig) -> int:
    """The points a record is worth while it counts (0 for a class that never counts).

    Examples
    --------
    >>> effect_of(Record(0, "e", "penalty", "general", 350_000), DEFAULT_SCORECARD)
    -50
    >>> effect_of(Record(0, "e", "penalty", "serious", 9_000_000), DEFAULT_SCORECARD)
    -100
    >>> [effect_of(Record(0, "e", "tax_arrears", None, 1, m), DEFAULT_SCORECARD)
    ...  for m in (0, 2, 3, 11, 12, 99)]
    [-30, -30, -40, -60, -70, -90]
    >>> effect_of(Record(0, "e", "social_insurance_arrears", None, 1, 13), DEFAULT_SCORECARD)
    -120
    >>> effect_of(Record(0, "e", "commendation"), DEFAULT_SCORECARD)  # no level: as city
    10
    >>> effect_of(Record(0, "e", "judgment", "plaintiff"), DEFAULT_SCORECARD)
    0
    """
    rules = _compiled(config)
    rule = rules.counting.get(record.kind, _NO_RULES).get(record.label)
    if rule is None:
        return 0
    effect, _, formula = rule
    if formula:
        return _formula_effect(rules, formula, effect, record.amount_cny, record.quantity)
    return effect


def grade_of(score: int, config: ScorecardConfig) -> Grade:
    """The grade of a score: A (优) ≥ 900, B (良) ≥ 800, C (中) ≥ 650, else D (差) by default.

    >>> [grade_of(s, DEFAULT_SCORECARD) for s in (1000, 900, 899, 800, 799, 650, 649, 0)]
    ['A', 'A', 'B', 'B', 'C', 'C', 'D', 'D']
    """
    return _grade(score, _compiled(config).grades)


def _grade(score: int, grades: tuple[int, int, int]) -> Grade:
    a, b, c = grades
    return "A" if score >= a else "B" if score >= b else "C" if score >= c else "D"


# --- applying events ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Released:
    """A parked repair or objection re-judged because its record has arrived."""

    record: Record
    memo: str
    outcome: Applied | Rejected


@dataclass(frozen=True, slots=True)
class Applied:
    """The event is now a record of the subject (and maybe released parked events)."""

    released: tuple[Released, ...] = ()


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An event with this id was already applied or rejected for the subject; nothing changed."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The event cannot be applied to this subject: it belongs in the DLQ with ``reason``."""

    reason: Reason
    detail: str


Outcome = Applied | Duplicate | Rejected
_APPLIED = Applied()
_DUPLICATE = Duplicate()


def apply_event(
    state: EntityState, event: CreditEvent, config: ScorecardConfig, memo: str = ""
) -> Outcome:
    """Apply a parsed event to its subject's state.

    On :class:`Applied` the record is inserted in order and the subject's name,
    type, sector and district follow the latest report; on :class:`Rejected` only
    the event id is remembered (so a redelivery is a :class:`Duplicate`);
    :class:`Duplicate` changes nothing.

    A message repeating an applied (or parked) event is a :class:`Duplicate`; one
    repeating a rejected event is rejected again with the same reason.

    A repair or objection must reference a record of this subject that is not
    itself a repair or objection (else ``unknown_reference``). One that names a
    record not seen yet is parked in the state: input topics are consumed
    independently, so a repair may overtake its record. If the record arrives, the
    parked event is judged again and the outcome lists it in ``released``: the
    final state does not depend on which of the two arrived first. A repair is
    ``repair_too_early`` before the class's ``repair_after_days`` have passed
    since the record, and always for a class that cannot be repaired (DOMAIN's
    "—": simple penalty, judgment as plaintiff, red list, commendation, license,
    commitment; likewise list exits and arrears clearings, which hold no
    deduction to repair). Objections may reference any record at any time.

    Examples
    --------
    >>> from creditbrain.schemas.events import EVENT_ADAPTER
    >>> event = EVENT_ADAPTER.validate_python({
    ...     "schema_version": 1, "event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",
    ...     "kind": "penalty", "subject": {"type": "enterprise", "id": "91350100M000100Y43"},
    ...     "source": "municipal_market_regulation", "sector": "food_drug",
    ...     "district": "371102", "occurred_at": "2026-03-04T09:30:00+08:00",
    ...     "reported_at": "2026-03-05T10:00:00+08:00",
    ...     "payload": {"decision_no": "日市监罚〔2026〕1号", "severity": "serious",
    ...                 "amount_cny": 250000}})
    >>> state = EntityState.for_event(event)
    >>> apply_event(state, event, DEFAULT_SCORECARD)
    Applied(released=())
    >>> apply_event(state, event, DEFAULT_SCORECARD)
    Duplicate()
    >>> state.sector, state.version
    ('food_drug', 1)
    """
    if event.subject.id != state.subject_id:
        raise ValueError("the event is about another subject than this state")
    record = Record.from_event(event)
    rules = _rules(config, state)
    if record.event_id in state.rejected_ids:
        # A message repeating a rejected event is rejected again, for the same reason:
        # the dead-letter topic then holds every message that was not applied, and a
        # verdict lost in a crash is given again when the message is redelivered. A
        # parked event is still pending, so a repeat of it is only a duplicate.
        if any(p.record.event_id == record.event_id for p in state.parked):
            return _DUPLICATE
        again = None
        if record.ref_event_id is not None:
            again = _judge_reference(state, record, record.ref_event_id, rules)
        return again if again is not None else _DUPLICATE
    if state.find(record.event_id) is not None:
        return _DUPLICATE
    if record.ref_event_id is not None:
        verdict = _judge_reference(state, record, record.ref_event_id, rules)
        if verdict is not None:
            state.reject(record.event_id)
            if (
                verdict.reason is Reason.UNKNOWN_REFERENCE
                and state.find(record.ref_event_id) is None
            ):
                state.park(record, memo)
            return verdict
    state.add(record)
    state.update_profile(event)
    parked = state.unpark(record.event_id) if state.parked else ()
    if not parked:
        return _APPLIED
    released = []
    for item in parked:
        verdict = _judge_reference(state, item.record, record.event_id, rules)
        if verdict is None:
            state.add(item.record)
            released.append(Released(item.record, item.memo, _APPLIED))
        else:
            state.reject(item.record.event_id)
            released.append(Released(item.record, item.memo, verdict))
    return Applied(tuple(released))


def _judge_reference(
    state: EntityState, record: Record, ref: str, rules: _Compiled
) -> Rejected | None:
    kind = record.kind
    target = state.find(ref)
    if target is None:
        return Rejected(Reason.UNKNOWN_REFERENCE, f"{kind} of {ref}: no such record of the subject")
    if target.kind in _REFERRING:
        return Rejected(Reason.UNKNOWN_REFERENCE, f"{kind} of {ref}: that is a {target.kind}")
    if kind != "repair":
        return None
    name = target.kind if target.label is None else f"{target.kind}.{target.label}"
    minimum = rules.repair_ms.get((target.kind, target.label))
    if minimum is None:
        return Rejected(Reason.REPAIR_TOO_EARLY, f"repair of {ref}: {name} cannot be repaired")
    allowed_from = target.occurred_at + minimum
    if record.occurred_at < allowed_from:
        when = from_epoch_ms(allowed_from).isoformat()
        return Rejected(Reason.REPAIR_TOO_EARLY, f"repair of {ref}: {name} repairable from {when}")
    return None


# --- scoring -----------------------------------------------------------------------------

# NamedTuple's Python-level __new__ doubles the cost of building a reason.
_new_tuple = tuple.__new__


def evaluate(state: EntityState, as_of_ms: int, config: ScorecardConfig) -> ScoreResult:
    """The score of ``state`` as of ``as_of_ms``: the records with ``occurred_at <= as_of_ms``.

    A record counts from its ``occurred_at`` until the first of: the end of its
    class's publicity period; a repair of it; for arrears, an ``arrears_cleared``
    of the same kind at or after it or a later report of the same kind (only the
    latest report of each arrears kind counts); for list entries, a ``list_exit``
    of the same list at or after it. An upheld objection dated at or before T
    voids its record at T entirely: the record then neither counts nor ends or
    supersedes anything (a voided later arrears report lets the previous report
    count again; a voided exit leaves the entry on the list). Before the
    objection's date the record counted: scores already published stay true, and
    a replay reproduces them.

    Reasons are the counting records with a nonzero effect, by ``(occurred_at,
    event_id)``. Bonuses are only worth ``min(Σ bonuses, cap, Σ deductions)`` in
    all (a score never exceeds 1000); that allowance goes to the bonus records in
    that order, the earliest first, and a bonus left with nothing is not listed.
    So the effects add up to ``score - 1000``, unless the score is clamped at 0.

    Examples
    --------
    >>> from creditbrain.schemas.events import SubjectType
    >>> state = EntityState("91350100M000100Y43", SubjectType.ENTERPRISE)
    >>> state.add(Record(0, "a", "penalty", "general", 120_000))
    >>> state.add(Record(10 * DAY_MS, "b", "commendation", "province"))
    >>> evaluate(state, 100 * DAY_MS, DEFAULT_SCORECARD)
    ScoreResult(score=990, grade='A',
                reasons=(ScoreReason(event_id='a', kind='penalty', effect=-30),
                         ScoreReason(event_id='b', kind='commendation', effect=20)),
                next_change_at=31536000000)
    >>> evaluate(state, 365 * DAY_MS, DEFAULT_SCORECARD).score  # the penalty's year is over
    1000
    """
    rules = _rules(config, state)
    counting = rules.counting
    upcoming: int | None = None
    repaired: set[str | None] = set()
    voided: set[str | None] = set()
    arrears: list[Record] = []
    enders: list[Record] = []
    # Records that count by their own class and period, with (effect, end of publicity).
    candidates: list[tuple[Record, int, int | None]] = []
    deductions = bonuses = 0
    next_end: int | None = None
    for record in state.records:
        occurred = record[0]
        if occurred > as_of_ms:
            upcoming = occurred  # a record dated later is already known
            break
        kind = record[2]
        if kind in _ENDERS and _is_marker(record, repaired, voided, arrears, enders):
            continue
        rule = counting.get(kind, _NO_RULES).get(record[3])
        if rule is None:
            continue
        effect, period, formula = rule
        until = None
        if period is not None:
            until = occurred + period
            if until <= as_of_ms:
                continue
        if formula:
            effect = _formula_effect(rules, formula, effect, record[4], record[5])
        if effect < 0:
            deductions -= effect
        elif effect:
            bonuses += effect
        else:
            continue
        if until is not None and (next_end is None or until < next_end):
            next_end = until
        candidates.append((record, effect, until))

    superseded = len(arrears) > 1 and len({record[2] for record in arrears}) < len(arrears)
    if repaired or voided or enders or superseded:
        ended = _ended(candidates, repaired, voided, arrears, enders)
        candidates, deductions, bonuses, next_end = _without(candidates, ended)
    return _result(candidates, deductions, bonuses, _earliest(next_end, upcoming), rules)


def _is_marker(
    record: Record,
    repaired: set[str | None],
    voided: set[str | None],
    arrears: list[Record],
    enders: list[Record],
) -> bool:
    """Note what ``record`` may end; True when it has no effect of its own."""
    kind = record[2]
    if kind == "repair":
        repaired.add(record[6])
    elif kind == "objection":
        if record[3] == "upheld":
            voided.add(record[6])
    elif kind in _ARREARS:
        arrears.append(record)  # ends the reports before it, and counts itself
        return False
    else:
        enders.append(record)
    return True


def _result(
    candidates: list[tuple[Record, int, int | None]],
    deductions: int,
    bonuses: int,
    next_change: int | None,
    rules: _Compiled,
) -> ScoreResult:
    allowance = min(bonuses, rules.bonus_cap, deductions)
    score = max(0, MAX_SCORE - deductions + allowance)
    if allowance == bonuses:
        reasons = tuple([_new_tuple(ScoreReason, (r[1], r[2], e)) for r, e, _ in candidates])
    else:
        reasons = _capped_reasons(candidates, allowance)
    grade = _grade(score, rules.grades)
    return _new_tuple(ScoreResult, (score, grade, reasons, next_change))


def _ended(
    candidates: list[tuple[Record, int, int | None]],
    repaired: set[str | None],
    voided: set[str | None],
    arrears: list[Record],
    enders: list[Record],
) -> set[str | None]:
    """Ids of the records that a repair, upheld objection, exit, clearing or later report ends."""
    ended = repaired | voided
    if voided:
        arrears = [record for record in arrears if record[1] not in voided]
        enders = [record for record in enders if record[1] not in voided]
    # In time order, so the last one written wins: the latest report, the latest end.
    latest_report = {record[2]: record for record in arrears}
    ended_at = {(record[2], record[3]): record[0] for record in enders}
    for record in arrears:
        kind = record[2]
        if latest_report[kind] is not record:
            ended.add(record[1])
        elif ended_at.get(("arrears_cleared", kind), _NEVER) >= record[0]:
            ended.add(record[1])
    if any(kind == "list_exit" for kind, _ in ended_at):
        for record, _, _ in candidates:
            if (
                record[2] == "list_entry"
                and ended_at.get(("list_exit", record[3]), _NEVER) >= record[0]
            ):
                ended.add(record[1])
    return ended


def _without(
    candidates: list[tuple[Record, int, int | None]], ended: set[str | None]
) -> tuple[list[tuple[Record, int, int | None]], int, int, int | None]:
    """The candidates not ended, with their deductions, bonuses and earliest end."""
    kept = [candidate for candidate in candidates if candidate[0][1] not in ended]
    deductions = -sum([effect for _, effect, _ in kept if effect < 0])
    bonuses = sum([effect for _, effect, _ in kept if effect > 0])
    next_end = min([until for _, _, until in kept if until is not None], default=None)
    return kept, deductions, bonuses, next_end


def _earliest(first: int | None, second: int | None) -> int | None:
    if first is None or (second is not None and second < first):
        return second
    return first


def _capped_reasons(
    candidates: list[tuple[Record, int, int | None]], allowance: int
) -> tuple[ScoreReason, ...]:
    reasons = []
    for record, effect, _ in candidates:
        if effect > 0:
            effect = min(effect, allowance)
            allowance -= effect
            if not effect:
                continue
        reasons.append(_new_tuple(ScoreReason, (record[1], record[2], effect)))
    return tuple(reasons)
