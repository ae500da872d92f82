"""Warning policies as data: what each rule does, per sector and per district.

Every rule of :mod:`creditbrain.alerts.rules` has a :class:`RulePolicy`: on or off,
its level, its rule-specific thresholds, the cooldown (days of event time during
which a repeat does not notify again), whether it is also routed to the grid
governance system, and whether persons' names may be shown there. The defaults
(:func:`default_policy`) and the thresholds a policy accepts come from the rule's
file, so this module names no rule.

Supervisors change policies live: a :class:`PolicyOverride` is published on the
compacted topic ``credit.policies`` under a *scope key*
(:class:`~creditbrain.schemas.policies.Scope`) and changes only the fields it
names. :class:`PolicySet` holds the defaults and the overrides, and resolves a rule
for a subject's sector and district, field by field, from the least to the most
specific scope (the later wins):

1. the defaults (built in, or the deployment's),
2. ``*`` (city-wide),
3. ``district=371102``,
4. ``sector=food_drug``,
5. ``sector=food_drug|district=371102``.

So a sector's supervisor outranks a district's, and an override for both outranks
either; thresholds merge key by key. Sets are immutable: a message of
``credit.policies`` gives a new set (:mod:`creditbrain.alerts.policy_changes`), so a
stream can swap it in between two events and the next transition uses the new
policy.

Errors are pydantic's ``ValidationError`` naming the field, e.g.
``score_drop.thresholds.points: Input should be greater than 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from creditbrain.alerts.rules import RULE_NAMES, RULES, RuleName
from creditbrain.alerts.rules.base import Number, Thresholds
from creditbrain.schemas.policies import PolicyError, Scope, reference_of
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference
from creditbrain.schemas.warnings import Level

#: Each rule's threshold model (its file's ``thresholds``).
THRESHOLD_MODELS: Mapping[RuleName, type[Thresholds]] = MappingProxyType(
    {name: rule.thresholds for name, rule in RULES.items()}
)


def _checked_thresholds(rule: RuleName, values: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    """The thresholds of ``rule`` validated; all of them, or only those given when ``partial``."""
    model = THRESHOLD_MODELS[rule]
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
    found = RULES[rule]
    return RulePolicy(
        rule=rule, level=found.level, grid=found.grid, cooldown_days=found.cooldown_days
    )


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
        reference = reference_of(info)
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
