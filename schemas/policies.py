"""Where a warning policy applies: scopes of ``credit.policies``, and the policy error.

Supervisors change warning policies live by publishing an override on the compacted
topic ``credit.policies`` under a *scope key*: ``*`` (city-wide),
``district=371102``, ``sector=food_drug`` or ``sector=food_drug|district=371102``.
:class:`Scope` parses and checks such keys. The policies themselves (each rule's
level, thresholds, cooldown and routing, the set that resolves them per sector and
district, the messages and the audit) are built from the rules, so they live with
them: :mod:`creditbrain.alerts.policy` and :mod:`creditbrain.alerts.policy_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationInfo

from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference


class PolicyError(ConfigurationError):
    """A policy message or scope that cannot be applied."""


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

    def restrict(self, where: list[str], params: dict[str, object]) -> None:
        """Add the SQL conditions (and bound values) of this scope on ``sector``/``district``.

        >>> where, params = [], {}
        >>> Scope("food_drug", None).restrict(where, params)
        >>> where, params
        (['sector = {sector:String}'], {'sector': 'food_drug'})
        """
        if self.sector is not None:
            where.append("sector = {sector:String}")
            params["sector"] = self.sector
        if self.district is not None:
            where.append("district = {district:String}")
            params["district"] = self.district

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


def reference_of(info: ValidationInfo) -> Reference:
    """The reference tables a validation context carries (the default ones if none)."""
    ctx = info.context
    if isinstance(ctx, Reference):
        return ctx
    found = getattr(ctx, "reference", None)
    return found if isinstance(found, Reference) else DEFAULT_REFERENCE
