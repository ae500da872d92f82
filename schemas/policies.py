"""Warning policies as data: what each rule does, per sector and per district.

Every rule of DOMAIN.md's "Default warning rules" has a :class:`RulePolicy`: on or
off, its level, its rule-specific thresholds, the cooldown (days of event time
during which a repeat does not notify again), whether it is also routed to the grid
governance system, and whether persons' names may be shown there.

Supervisors change policies live: a :class:`PolicyOverride` is published on the
compacted topic ``credit.policies`` under a *scope key* and changes only the
fields it names. :class:`PolicySet` holds the defaults and the overrides, and
resolves a rule for a subject's sector and district, field by field, from the
least to the most specific scope (the later wins):

1. the defaults (built in, or the deployment's),
2. ``*`` (city-wide),
3. ``district=371102``,
4. ``sector=food_drug``,
5. ``sector=food_drug|district=371102``.

So a sector's supervisor outranks a district's, and an override for both outranks
either; thresholds merge key by key. Scope keys must be written exactly so (sector
before district): on a compacted topic two spellings of one scope would be two
keys, and deleting one would leave the other alive.

Sets are immutable: :func:`apply_policy_message` returns a new set, so a stream can
swap it in between two events and the next transition uses the new policy.
:class:`PolicyChange` is what the audit keeps of a change.

Errors are :class:`PolicyError` (a :class:`~creditbrain.core.errors.ConfigurationError`)
from the stream's side, pydantic's ``ValidationError`` from the models; both name
the field, e.g. ``score_drop.thresholds.points: Input should be greater than 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference
from creditbrain.schemas.warnings import RULE_NAMES, Level, RuleName


class PolicyError(ConfigurationError):
    """A policy message or scope that cannot be applied."""


# --- thresholds, one small model per rule ---------------------------------------------------

Probability = Annotated[float, Field(ge=0, le=1)]
#: A threshold as given: a JSON number, never a string or a boolean.
Number = StrictInt | StrictFloat


class _Thresholds(BaseModel):
    # Strict: a threshold is a JSON number, never "3" or true.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class NoThresholds(_Thresholds):
    """The rule has no threshold: it fires on the records themselves."""


class ScoreDropThresholds(_Thresholds):
    """Score fell by at least ``points`` within ``window_days``."""

    points: PositiveInt = 100
    window_days: PositiveInt = 30


class SocialInsuranceThresholds(_Thresholds):
    """Social-insurance arrears of at least ``months`` months overdue."""

    months: NonNegativeInt = 3


class WageArrearsThresholds(_Thresholds):
    """Wage arrears are red from ``red_workers`` workers affected, else the rule's level."""

    red_workers: NonNegativeInt = 10


class PenaltyBurstThresholds(_Thresholds):
    """At least ``count`` counting penalties within ``window_days``."""

    count: PositiveInt = 3
    window_days: PositiveInt = 90


class AnomalyThresholds(_Thresholds):
    """A model's anomaly score in [0, 1] at or above ``threshold``."""

    threshold: Probability = 0.95


class DeteriorationThresholds(_Thresholds):
    """The subject model's deterioration score in [0, 1] at or above ``threshold``.

    The score is the probability of a red event within 270 days; 0.6 is the value the
    tuning cities support (docs/models.md).
    """

    threshold: Probability = 0.6


class DefaultProbabilityThresholds(_Thresholds):
    """Predicted probability of a red event within 90 days at or above ``probability``."""

    probability: Probability = 0.5


THRESHOLD_MODELS: Mapping[RuleName, type[_Thresholds]] = {
    "score_drop": ScoreDropThresholds,
    "social_insurance_arrears_3m": SocialInsuranceThresholds,
    "wage_arrears": WageArrearsThresholds,
    "penalty_burst": PenaltyBurstThresholds,
    "anomalous_deterioration": DeteriorationThresholds,
    "predicted_serious_default": DefaultProbabilityThresholds,
    "metric_anomaly": AnomalyThresholds,
}

DEFAULT_LEVELS: Mapping[RuleName, Level] = {
    "dishonest_debtor_listed": "red",
    "serious_dishonesty_listed": "red",
    "government_dishonest": "red",
    "grade_fell_to_D": "red",
    "grade_downgrade": "orange",
    "score_drop": "orange",
    "social_insurance_arrears_3m": "orange",
    "wage_arrears": "orange",
    "penalty_burst": "yellow",
    "anomalous_deterioration": "yellow",
    "predicted_serious_default": "yellow",
    "first_negative_record": "blue",
    "metric_anomaly": "orange",
}
#: Routed to the grid by default: listings and D grades (joint punishment is applied
#: on the ground) and wage arrears (workers to be helped); the rest stays with supervisors.
DEFAULT_GRID: frozenset[RuleName] = frozenset(
    {
        "dishonest_debtor_listed",
        "serious_dishonesty_listed",
        "government_dishonest",
        "grade_fell_to_D",
        "wage_arrears",
    }
)


def _checked_thresholds(rule: RuleName, values: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """The thresholds of ``rule`` validated; all of them, or only those given when ``partial``."""
    model = THRESHOLD_MODELS.get(rule, NoThresholds)
    try:
        checked = model.model_validate(dict(values))
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{rule}.thresholds.{where}: {first['msg']}") from None
    full = checked.model_dump()
    return {name: full[name] for name in values} if partial else full


# --- one rule's policy, and partial overrides ------------------------------------------------

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_POLICY_FIELDS = ("enabled", "level", "cooldown_days", "grid", "reveal_person_names")


class RulePolicy(BaseModel):
    """Everything that decides how one rule warns, for one scope.

    Parameters
    ----------
    rule
        The rule's name (DOMAIN.md).
    enabled
        A disabled rule neither opens nor escalates alerts.
    level
        ``red`` / ``orange`` / ``yellow`` / ``blue``.
    cooldown_days
        Days of event time during which a repeat updates an open alert without
        notifying again.
    grid
        Also send to the grid governance system (``credit.warnings.grid``).
    reveal_person_names
        Show persons' names in clear to the grid (default: masked).
    thresholds
        The rule's own numbers (see :data:`THRESHOLD_MODELS`); missing ones take
        their defaults.

    Examples
    --------
    >>> RulePolicy(rule="score_drop", level="orange").thresholds
    {'points': 100, 'window_days': 30}
    >>> RulePolicy(rule="score_drop", level="purple")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for RulePolicy
    level
      Input should be 'red', 'orange', 'yellow' or 'blue' ...
    """

    model_config = _FROZEN

    rule: RuleName
    enabled: bool = True
    level: Level
    cooldown_days: NonNegativeInt = 7
    grid: bool = False
    reveal_person_names: bool = False
    thresholds: Mapping[str, Number] = Field(default_factory=dict, validate_default=True)

    @field_validator("thresholds", mode="after")
    @classmethod
    def _complete(cls, value: Mapping[str, Number], info: ValidationInfo) -> dict[str, Any]:
        rule = info.data.get("rule")
        return dict(value) if rule is None else _checked_thresholds(rule, value, partial=False)


def default_policy(rule: RuleName) -> RulePolicy:
    """The built-in policy of ``rule`` (DOMAIN.md's table).

    >>> default_policy("wage_arrears").grid, default_policy("penalty_burst").level
    (True, 'yellow')
    """
    return RulePolicy(rule=rule, level=DEFAULT_LEVELS[rule], grid=rule in DEFAULT_GRID)


_BUILT_IN = {rule: default_policy(rule) for rule in RULE_NAMES}


class RuleOverride(BaseModel):
    """The fields of a :class:`RulePolicy` that a scope changes; ``None`` / absent: unchanged."""

    model_config = _FROZEN

    enabled: bool | None = None
    level: Level | None = None
    cooldown_days: NonNegativeInt | None = None
    grid: bool | None = None
    reveal_person_names: bool | None = None
    thresholds: Mapping[str, Number] = Field(default_factory=dict)

    def changes(self) -> dict[str, Any]:
        """The fields this override sets (thresholds excluded)."""
        return {
            name: value for name in _POLICY_FIELDS if (value := getattr(self, name)) is not None
        }


class PolicyOverride(BaseModel):
    """What one scope changes, rule by rule: the value of a ``credit.policies`` message.

    >>> o = PolicyOverride.model_validate_json(
    ...     '{"rules": {"score_drop": {"thresholds": {"points": 150}}}}')
    >>> o.rules["score_drop"].thresholds
    {'points': 150}
    >>> PolicyOverride.model_validate({"rules": {"penalty_burst": {"thresholds": {"count": -1}}}})
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PolicyOverride
    rules
      Value error, penalty_burst.thresholds.count: Input should be greater than 0 ...
    """

    model_config = _FROZEN

    rules: Mapping[RuleName, RuleOverride]

    @field_validator("rules", mode="after")
    @classmethod
    def _thresholds_fit(cls, rules: Mapping[RuleName, RuleOverride]) -> dict[RuleName, Any]:
        checked: dict[RuleName, RuleOverride] = {}
        for rule, override in rules.items():
            thresholds = _checked_thresholds(rule, override.thresholds, partial=True)
            checked[rule] = override.model_copy(update={"thresholds": thresholds})
        return checked

    def to_bytes(self) -> bytes:
        """Compact JSON with only the fields set (the message value)."""
        return self.model_dump_json(exclude_none=True, exclude_defaults=True).encode()


# --- scopes ------------------------------------------------------------------------------------

CITY = "*"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an override applies: a sector, a district, both, or neither (city-wide).

    >>> Scope.parse("sector=food_drug|district=371102")
    Scope(sector='food_drug', district='371102')
    >>> Scope("food_drug", None).key, Scope(None, None).key
    ('sector=food_drug', '*')
    >>> try:
    ...     Scope.parse("district=371102|sector=food_drug")
    ... except PolicyError as error:
    ...     print(error)
    scope 'district=371102|sector=food_drug': write it as 'sector=food_drug|district=371102'
    """

    sector: str | None
    district: str | None

    @property
    def key(self) -> str:
        parts = []
        if self.sector is not None:
            parts.append(f"sector={self.sector}")
        if self.district is not None:
            parts.append(f"district={self.district}")
        return "|".join(parts) or CITY

    @property
    def precedence(self) -> int:
        """0 city-wide < 1 district < 2 sector < 3 sector and district."""
        return (2 if self.sector is not None else 0) + (1 if self.district is not None else 0)

    @classmethod
    def parse(cls, key: str, reference: Reference | None = DEFAULT_REFERENCE) -> Scope:
        """The scope of a canonical key, its sector and district checked against ``reference``.

        ``reference=None`` checks the form only (for keys validated before).
        """
        if key == CITY:
            return cls(None, None)
        fields: dict[str, str] = {}
        for part in key.split("|"):
            name, sep, value = part.partition("=")
            if not sep or name not in ("sector", "district") or not value or name in fields:
                forms = "'*', 'sector=S', 'district=D' or 'sector=S|district=D'"
                raise PolicyError(f"scope {key!r}: expected {forms}")
            fields[name] = value
        scope = cls(fields.get("sector"), fields.get("district"))
        if scope.key != key:
            raise PolicyError(f"scope {key!r}: write it as {scope.key!r}")
        if reference is None:
            return scope
        if scope.sector is not None and scope.sector not in reference.sectors:
            raise PolicyError(f"scope {key!r}: unknown sector {scope.sector!r}")
        if scope.district is not None and scope.district not in reference.districts:
            raise PolicyError(f"scope {key!r}: unknown district {scope.district!r}")
        return scope


def _reference(info: ValidationInfo) -> Reference:
    ctx = info.context
    if isinstance(ctx, Reference):
        return ctx
    found = getattr(ctx, "reference", None)
    return found if isinstance(found, Reference) else DEFAULT_REFERENCE


# --- the set -----------------------------------------------------------------------------------

_CACHE_LIMIT = 4096


class PolicySet(BaseModel):
    """The defaults and every scope's override; resolves a rule's policy for a subject.

    Validation takes an optional context (a :class:`~creditbrain.schemas.reference.Reference`
    or anything with a ``reference`` attribute) for the sector and district tables.

    Examples
    --------
    >>> policies = PolicySet(overrides={
    ...     "sector=food_drug": {"rules": {"penalty_burst": {"level": "orange"}}},
    ...     "district=371102": {"rules": {"penalty_burst": {"level": "red", "cooldown_days": 1}}},
    ... })
    >>> p = policies.resolve("penalty_burst", "food_drug", "371102")
    >>> p.level, p.cooldown_days
    ('orange', 1)
    >>> policies.resolve("penalty_burst", "finance", "371103").level
    'yellow'
    """

    model_config = _FROZEN

    defaults: Mapping[RuleName, RulePolicy] = Field(default_factory=dict, validate_default=True)
    overrides: Mapping[str, PolicyOverride] = Field(default_factory=dict)

    @field_validator("defaults", mode="after")
    @classmethod
    def _every_rule(cls, defaults: Mapping[RuleName, RulePolicy]) -> dict[RuleName, RulePolicy]:
        for rule, policy in defaults.items():
            if policy.rule != rule:
                raise ValueError(f"defaults[{rule!r}] is the policy of {policy.rule!r}")
        return {rule: defaults.get(rule) or _BUILT_IN[rule] for rule in RULE_NAMES}

    @field_validator("overrides", mode="after")
    @classmethod
    def _known_scopes(
        cls, overrides: Mapping[str, PolicyOverride], info: ValidationInfo
    ) -> dict[str, PolicyOverride]:
        reference = _reference(info)
        for key in overrides:
            try:
                Scope.parse(key, reference)
            except PolicyError as error:
                raise ValueError(str(error)) from None
        return dict(overrides)

    def resolve(self, rule: RuleName, sector: str, district: str) -> RulePolicy:
        """The policy of ``rule`` for a subject in ``sector`` and ``district``."""
        return self.resolve_all(sector, district)[rule]

    def resolve_all(self, sector: str, district: str) -> Mapping[RuleName, RulePolicy]:
        """Every rule's policy for ``sector`` and ``district``, in rule order (cached)."""
        cache = _RESOLUTIONS.get(id(self))
        if cache is None or cache.policies is not self:
            cache = _Resolutions.of(self)
        hit = cache.by_place.get((sector, district))
        if hit is not None:
            return hit
        if len(cache.by_place) >= _CACHE_LIMIT:
            cache.by_place.clear()
        layers = [
            override
            for scope, override in cache.layers
            if scope.sector in (None, sector) and scope.district in (None, district)
        ]
        resolved = {rule: self._merged(rule, layers) for rule in RULE_NAMES}
        cache.by_place[sector, district] = resolved
        return resolved

    def _merged(self, rule: RuleName, layers: list[PolicyOverride]) -> RulePolicy:
        base = self.defaults[rule]
        changes = [layer.rules[rule] for layer in layers if rule in layer.rules]
        if not changes:
            return base
        fields = {name: getattr(base, name) for name in _POLICY_FIELDS}
        thresholds = dict(base.thresholds)
        for change in changes:
            fields.update(change.changes())
            thresholds.update(change.thresholds)
        return RulePolicy(rule=rule, thresholds=thresholds, **fields)

    def with_override(
        self,
        scope: str,
        override: PolicyOverride | None,
        reference: Reference = DEFAULT_REFERENCE,
    ) -> PolicySet:
        """A new set in which ``scope`` has ``override`` (``None``: its override deleted)."""
        Scope.parse(scope, reference)
        overrides = dict(self.overrides)
        if override is None:
            overrides.pop(scope, None)
        else:
            overrides[scope] = override
        return PolicySet.model_validate(
            {"defaults": self.defaults, "overrides": overrides}, context=reference
        )

    def to_bytes(self) -> bytes:
        """JSON of the whole set (defaults complete, overrides as sent)."""
        return orjson.dumps(
            {
                "defaults": {r: p.model_dump() for r, p in self.defaults.items()},
                "overrides": {
                    k: o.model_dump(exclude_none=True, exclude_defaults=True)
                    for k, o in self.overrides.items()
                },
            }
        )


@dataclass(slots=True)
class _Resolutions:
    """What one set has resolved, per (sector, district), and its overrides by precedence."""

    policies: PolicySet  # held, so that the id keying this entry cannot be reused
    layers: tuple[tuple[Scope, PolicyOverride], ...]
    by_place: dict[tuple[str, str], Mapping[RuleName, RulePolicy]]

    @classmethod
    def of(cls, policies: PolicySet) -> _Resolutions:
        if len(_RESOLUTIONS) >= _SETS_LIMIT:
            _RESOLUTIONS.clear()
        layers = [(Scope.parse(key, None), o) for key, o in policies.overrides.items()]
        layers.sort(key=lambda layer: layer[0].precedence)
        cache = _RESOLUTIONS[id(policies)] = cls(policies, tuple(layers), {})
        return cache


# Outside the model: pydantic's private attributes cost a microsecond per read, and a set
# is immutable, so its resolutions are kept by identity (as the scorecard's compiled form).
# Live changes create a set each; the bound forgets the old ones.
_RESOLUTIONS: dict[int, _Resolutions] = {}
_SETS_LIMIT = 64

#: The built-in defaults and no overrides.
DEFAULT_POLICIES = PolicySet()


# --- the stream's side: messages of credit.policies, and the audit ------------------------------


def apply_policy_message(
    policies: PolicySet,
    key: bytes | str,
    value: bytes | str | None,
    reference: Reference = DEFAULT_REFERENCE,
) -> PolicySet:
    """The set after one ``credit.policies`` message: ``value`` is the override, ``None`` deletes.

    An empty value counts as a deletion too (a tombstone some clients write as ``b""``).

    >>> key, value = policy_message("sector=food_drug", PolicyOverride.model_validate(
    ...     {"rules": {"wage_arrears": {"enabled": False}}}))
    >>> changed = apply_policy_message(DEFAULT_POLICIES, key, value)
    >>> changed.resolve("wage_arrears", "food_drug", "371102").enabled
    False
    >>> apply_policy_message(changed, key, None).overrides
    {}
    >>> try:
    ...     apply_policy_message(DEFAULT_POLICIES, b"sector=bakery", b"{}")
    ... except PolicyError as error:
    ...     print(error)
    scope 'sector=bakery': unknown sector 'bakery'
    """
    try:
        scope = key.decode() if isinstance(key, bytes) else key
    except UnicodeDecodeError:
        raise PolicyError("policy message key is not UTF-8") from None
    Scope.parse(scope, reference)
    override = None
    if value:
        try:
            override = PolicyOverride.model_validate_json(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise PolicyError(f"policy for {scope}: {where}: {first['msg']}") from None
    return policies.with_override(scope, override, reference)


def policy_message(scope: str, override: PolicyOverride | None) -> tuple[bytes, bytes | None]:
    """The ``(key, value)`` of the ``credit.policies`` message that sets or deletes ``scope``."""
    Scope.parse(scope, None)
    return scope.encode(), None if override is None else override.to_bytes()


class PolicyChange(BaseModel):
    """One audited change of policy: who changed which scope, when, from what, to what, and why.

    ``before`` / ``after`` ``None``: the scope had / has no override.

    >>> from datetime import datetime, timezone
    >>> after = PolicyOverride.model_validate({"rules": {"score_drop": {"level": "red"}}})
    >>> change = PolicyChange.of(DEFAULT_POLICIES, "district=371103", after,
    ...     who="supervisor-17", when=datetime(2026, 3, 5, tzinfo=timezone.utc),
    ...     reason="steel sector stress")
    >>> change.before is None, PolicyChange.model_validate_json(change.model_dump_json()) == change
    (True, True)
    """

    model_config = _FROZEN

    who: Annotated[str, Field(min_length=1)]
    when: AwareDatetime
    scope: str
    before: PolicyOverride | None
    after: PolicyOverride | None
    reason: Annotated[str, Field(min_length=1)]

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str, info: ValidationInfo) -> str:
        try:
            Scope.parse(scope, _reference(info))
        except PolicyError as error:
            raise ValueError(str(error)) from None
        return scope

    @classmethod
    def of(
        cls,
        policies: PolicySet,
        scope: str,
        after: PolicyOverride | None,
        *,
        who: str,
        when: datetime,
        reason: str,
    ) -> PolicyChange:
        """The change that gives ``scope`` the override ``after`` in ``policies``."""
        before = policies.overrides.get(scope)
        return cls.model_validate(
            {
                "who": who,
                "when": when,
                "scope": scope,
                "before": before,
                "after": after,
                "reason": reason,
            }
        )

    def message(self) -> tuple[bytes, bytes | None]:
        """The ``credit.policies`` message that makes this change."""
        return policy_message(self.scope, self.after)
