"""How policies change: messages of ``credit.policies``, and the audit of each change.

A message's key is a scope (:class:`~creditbrain.schemas.policies.Scope`), its value
the scope's :class:`~creditbrain.alerts.policy.PolicyOverride` as JSON, an empty or
missing value deletes it. :func:`apply_policy_message` is the stream's side (the
set after a message), :func:`policy_message` the writer's; :class:`PolicyChange`
is what the audit keeps of a change: who, when, which scope, before, after, why.

Errors are :class:`~creditbrain.schemas.policies.PolicyError` (a
:class:`~creditbrain.core.errors.ConfigurationError`) naming the field, e.g.
``policy for sector=finance: rules.score_drop: ...``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

# DEFAULT_POLICIES is re-exported: the examples below (also the API's schema text) use it.
from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicyOverride, PolicySet
from creditbrain.schemas.policies import PolicyError, Scope, reference_of
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference

__all__ = ["DEFAULT_POLICIES", "PolicyChange", "apply_policy_message", "policy_message"]


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

    ``before`` / ``after`` ``None``: the scope had / has no override. ``version`` counts
    the scope's changes (the first is 1; 0 marks a change audited before versions
    existed); ``restores`` names the version a rollback brought back.

    >>> from datetime import datetime, timezone
    >>> after = PolicyOverride.model_validate({"rules": {"score_drop": {"level": "red"}}})
    >>> change = PolicyChange.of(DEFAULT_POLICIES, "district=371103", after,
    ...     who="supervisor-17", when=datetime(2026, 3, 5, tzinfo=timezone.utc),
    ...     reason="steel sector stress")
    >>> change.before is None, PolicyChange.model_validate_json(change.model_dump_json()) == change
    (True, True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    who: Annotated[str, Field(min_length=1)]
    when: AwareDatetime
    scope: str
    before: PolicyOverride | None
    after: PolicyOverride | None
    reason: Annotated[str, Field(min_length=1)]
    version: Annotated[int, Field(ge=0)] = 0
    restores: Annotated[int, Field(ge=1)] | None = None

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str, info: ValidationInfo) -> str:
        try:
            Scope.parse(scope, reference_of(info))
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
        version: int = 0,
        restores: int | None = None,
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
                "version": version,
                "restores": restores,
            }
        )

    def differences(self) -> dict[str, tuple[object, object]]:
        """What the change did, field by field: ``{"rule.field": (before, after)}``.

        Thresholds are named ``rule.thresholds.name``; a field an override does not
        set is ``None`` (the wider scopes decide it).

        >>> from datetime import datetime, timezone
        >>> old = PolicyOverride.model_validate({"rules": {"wage_arrears": {
        ...     "level": "orange", "thresholds": {"red_workers": 5}}}})
        >>> new = PolicyOverride.model_validate({"rules": {"wage_arrears": {
        ...     "level": "orange", "thresholds": {"red_workers": 3}}}})
        >>> PolicyChange(who="s", when=datetime(2026, 3, 5, tzinfo=timezone.utc),
        ...     scope="sector=food_drug", before=old, after=new, reason="r").differences()
        {'wage_arrears.thresholds.red_workers': (5, 3)}
        """
        before, after = _flat(self.before), _flat(self.after)
        return {
            name: (before.get(name), after.get(name))
            for name in sorted(before.keys() | after.keys())
            if before.get(name) != after.get(name)
        }

    def message(self) -> tuple[bytes, bytes | None]:
        """The ``credit.policies`` message that makes this change."""
        return policy_message(self.scope, self.after)


def _flat(override: PolicyOverride | None) -> dict[str, object]:
    """An override's fields as ``{"rule.field": value}``, only those it sets."""
    if override is None:
        return {}
    flat: dict[str, object] = {}
    for rule, fields in override.rules.items():
        flat.update({f"{rule}.{name}": value for name, value in fields.changes().items()})
        flat.update({f"{rule}.thresholds.{k}": v for k, v in fields.thresholds.items()})
    return flat
