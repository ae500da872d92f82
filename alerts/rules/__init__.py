"""The warning rules of DOMAIN.md, one file each, collected into the registry.

Every module of this package except :mod:`.base` is one rule: it defines ``RULE``,
a :class:`~.base.Rule` with the rule's name, default level, thresholds (a pydantic
model whose defaults are the default thresholds), grid routing, cooldown, the
kind of record it requires and its check; its docstring gives the rule's Chinese
term. The package imports them all when it is imported, so adding a rule is
adding a file (and its tests); everything below is built from those files:

* :data:`RULES`: name -> rule, in DOMAIN.md's order (each rule's ``order``);
* :data:`RULE_NAMES` and :data:`RuleName`, the vocabulary the policies accept
  (:mod:`creditbrain.alerts.policy` builds the default policies from the rules);
* :func:`is_red_event`, the red events the early-warning models learn to foresee.

The rule files, in DOMAIN.md's order: :mod:`.dishonest_debtor_listed` (失信被执行人),
:mod:`.serious_dishonesty_listed` (严重失信主体名单), :mod:`.government_dishonest`
(政务失信), :mod:`.grade_fell_to_d` (等级降为差), :mod:`.grade_downgrade` (信用等级下调),
:mod:`.score_drop` (信用分骤降), :mod:`.social_insurance_arrears_3m` (欠缴社保),
:mod:`.wage_arrears` (欠薪), :mod:`.penalty_burst` (行政处罚频发),
:mod:`.anomalous_deterioration` (异常恶化), :mod:`.predicted_serious_default`
(严重失信风险), :mod:`.first_negative_record` (首次失信记录), :mod:`.metric_anomaly`
(系统性风险) and :mod:`.case_overdue` (处置超期), raised by the case desk; what they share
is in :mod:`.base`.

>>> RULE_NAMES[:2], RULES["penalty_burst"].level
(('dishonest_debtor_listed', 'serious_dishonesty_listed'), 'yellow')
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Protocol

from creditbrain.alerts.rules.base import (
    UNDECIDED,
    Check,
    Finding,
    News,
    Policy,
    Rule,
    Verdict,
    higher,
)
from creditbrain.core.eventtime import DAY_MS
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record

__all__ = [
    "DAY_MS",
    "RED_KINDS",
    "RULES",
    "RULE_NAMES",
    "UNDECIDED",
    "Check",
    "Finding",
    "News",
    "Rule",
    "RuleName",
    "Verdict",
    "collect",
    "higher",
    "is_red_event",
    "rule_modules",
]

#: Modules of the package that are not rules.
SHARED = frozenset({"base"})


def rule_modules() -> list[str]:
    """The names of the package's rule modules (its files but the shared one), sorted."""
    found = pkgutil.iter_modules(__path__)
    return sorted(m.name for m in found if m.name not in SHARED and not m.name.startswith("_"))


def collect(modules: list[str]) -> dict[str, Rule]:
    """The ``RULE`` of each module, by name, in rule order; checks what the lifecycle relies on."""
    rules: list[Rule] = []
    for module in modules:
        rule = getattr(importlib.import_module(f"{__name__}.{module}"), "RULE", None)
        if not isinstance(rule, Rule):
            raise TypeError(f"{__name__}.{module} defines no RULE")
        if rule.name.lower() != module:
            raise ValueError(f"{__name__}.{module} defines the rule {rule.name!r}")
        if rule.red_event is not None and rule.requires is None:
            raise ValueError(f"{rule.name}: a rule with red events names the kind it requires")
        rules.append(rule)
    rules.sort(key=lambda rule: rule.order)
    orders = [rule.order for rule in rules]
    if len(set(orders)) != len(orders):
        raise ValueError(f"two rules share an order: {orders}")
    return {rule.name: rule for rule in rules}


#: Every rule, in DOMAIN.md's order (``metric_anomaly``, the city-level one, included).
RULES: Mapping[str, Rule] = MappingProxyType(collect(rule_modules()))
#: Every rule's name, in DOMAIN.md's order.
RULE_NAMES: tuple[str, ...] = tuple(RULES)

if TYPE_CHECKING:
    # Built from the files at run time, which a type checker cannot follow.
    RuleName = str
else:
    #: A rule's name: validated by pydantic (and listed in JSON Schemas) as one of RULE_NAMES.
    RuleName = Literal[RULE_NAMES]

#: The kinds of record a red event can be (the ``requires`` of rules with red events).
RED_KINDS: frozenset[str] = frozenset(
    rule.requires for rule in RULES.values() if rule.red_event is not None and rule.requires
)
_RED_RULES = tuple(rule for rule in RULES.values() if rule.red_event is not None)


class _Enabled(Policy, Protocol):
    @property
    def enabled(self) -> bool: ...


def is_red_event(
    record: Record, subject_type: SubjectType, policies: Mapping[str, _Enabled]
) -> bool:
    """Whether ``record`` alone makes an enabled rule hold at red under ``policies``.

    ``policies`` are the rules' policies in force for the subject's sector and
    district (:meth:`~creditbrain.alerts.policy.PolicySet.resolve_all`).

    >>> from creditbrain.alerts.policy import DEFAULT_POLICIES
    >>> rules = DEFAULT_POLICIES.resolve_all("construction", "371102")
    >>> is_red_event(Record(0, "e", "wage_arrears", quantity=12), SubjectType.ENTERPRISE, rules)
    True
    >>> is_red_event(Record(0, "e", "penalty"), SubjectType.ENTERPRISE, rules)
    False
    """
    if record.kind not in RED_KINDS:
        return False
    for rule in _RED_RULES:
        if rule.requires != record.kind or rule.red_event is None:
            continue
        policy = policies[rule.name]
        if policy.enabled and rule.red_event(record, subject_type, policy):
            return True
    return False
