"""Shadow policies: candidate policy sets judged beside the live one, never delivered.

A shadow is a named candidate, written like a policy change: one scope's override
(``None``: the scope's override deleted) in the set in force. Every re-scoring the
engine judges under the live set it also judges under each shadow's set, with the
shadow's own open warnings, and says so as
:class:`~creditbrain.engine.effects.ShadowWarningChanged`: stored (``shadow_alerts``),
never sent to a warning topic, the grid or a webhook.

Shadows travel on the compacted topic ``credit.policies.shadow`` (key: the shadow's
name, value: :meth:`Shadow.to_json`, empty to end it), followed by every worker like
``credit.policies``. The shadow's set follows the live set: it is the set in force
with the shadow's override, so a live change elsewhere reaches the shadow too.

A subject judged under a shadow for the first time starts from its live open
warnings, so that a shadow started on a running city compares changes from its
start, not openings the live set made long before.

>>> from datetime import UTC, datetime
>>> shadow = Shadow(name="arrears-3", scope="sector=food_drug", override=PolicyOverride.
...     model_validate({"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}),
...     reason="season", who="food-supervisor", started_at=datetime(2026, 3, 1, tzinfo=UTC))
>>> shadows = apply_shadow_message(ShadowSet(), b"arrears-3", shadow.to_json())
>>> live = PolicySet()
>>> sets = shadows.sets(live)
>>> sets["arrears-3"].resolve("wage_arrears", "food_drug", "371102").thresholds["red_workers"]
3
>>> shadows.sets(live) is sets, dict(apply_shadow_message(shadows, b"arrears-3", None).by_name)
(True, {})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.schemas.policies import PolicyError, Scope

__all__ = ["NAME_PATTERN", "Shadow", "ShadowSet", "apply_shadow_message"]

#: A shadow's name: short, readable in a URL and a dashboard variable.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,47}$"
_NAME = re.compile(NAME_PATTERN)


class Shadow(BaseModel):
    """One shadow: ``scope``'s candidate ``override``, who started it, when and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    scope: str
    override: PolicyOverride | None
    reason: str = Field(min_length=1)
    who: str = Field(min_length=1)
    started_at: AwareDatetime

    @field_validator("scope")
    @classmethod
    def _scope(cls, scope: str) -> str:
        try:
            Scope.parse(scope)
        except PolicyError as error:
            raise ValueError(str(error)) from None
        return scope

    def to_json(self) -> bytes:
        """The value of the shadow's ``credit.policies.shadow`` message."""
        return self.model_dump_json().encode()

    def policies(self, live: PolicySet) -> PolicySet:
        """The shadow's set: ``live`` with the shadow's override in its scope."""
        return live.with_override(self.scope, self.override)


@dataclass(frozen=True)
class ShadowSet:
    """The shadows running, by name; :meth:`sets` resolves them against the live set."""

    by_name: Mapping[str, Shadow] = field(default_factory=lambda: MappingProxyType({}))
    _cache: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def sets(self, live: PolicySet) -> Mapping[str, PolicySet]:
        """Each shadow's policy set over ``live`` (kept while ``live`` is the same object)."""
        cache = self._cache
        if cache.get("live") is not live:
            cache["live"] = live
            cache["sets"] = {name: s.policies(live) for name, s in sorted(self.by_name.items())}
        sets: Mapping[str, PolicySet] = cache["sets"]  # type: ignore[assignment]
        return sets


def apply_shadow_message(shadows: ShadowSet, key: bytes, value: bytes | None) -> ShadowSet:
    """The shadows after one ``credit.policies.shadow`` message (empty value: ended).

    Raises :class:`~creditbrain.schemas.policies.PolicyError` for a message that
    cannot be read.
    """
    name = key.decode(errors="replace")
    if not _NAME.match(name):
        raise PolicyError(f"shadow name {name!r} is not a shadow name")
    by_name = dict(shadows.by_name)
    if value:
        try:
            shadow = Shadow.model_validate_json(value)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise PolicyError(f"shadow {name}: {where}: {first['msg']}") from None
        if shadow.name != name:
            raise PolicyError(f"shadow {name}: the message names {shadow.name}")
        by_name[name] = shadow
    else:
        by_name.pop(name, None)
    return ShadowSet(MappingProxyType(by_name))
