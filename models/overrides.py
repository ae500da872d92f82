"""Per-sector scorecard overrides and the separate weighting of persons, as configuration data.

DOMAIN.md lets a deployment change, per sector, how long records count (publicity
periods, with the minimum before a repair), what they weigh, and weigh persons
apart (the plan's personal "sunshine score", 阳光分). A :class:`ScorecardPatch`
names only what it changes; the scorecard file holds them beside the defaults::

    [persons.deductions]                      # every person, whatever the sector
    "penalty.general" = 10

    [sectors.work_safety.publicity_days]      # every subject of the sector
    "penalty.general" = 730

    [sectors.work_safety.persons.deductions]  # persons of the sector
    "penalty.general" = 15

A subject is scored by the default scorecard with the patches that concern it laid
over it, most general first (:func:`layers`): ``persons`` (persons only), then
``sectors.<its sector>``, then ``sectors.<its sector>.persons`` (persons only). Its
sector is the one its latest report gives (``EntityState.sector``), so a subject
that moves to another sector is scored by that sector's scorecard from then on; a
repair is judged against the minimum period of the sector the subject is in when
the repair is applied.
Grades keep one scale everywhere: an A means the same in every sector.

Tables are merged key by key, so ``deductions`` above changes one class and keeps
the others. The rules by amount and by months overdue are merged field by field
too. What a patch makes of the scorecard is validated once, when the file is read,
for every sector and for persons (:class:`~.scorecard.ScorecardConfig`).

>>> patch = ScorecardPatch(deductions={"penalty.general": 40}, bonus_cap=60)
>>> changes(patch)
{'deductions.penalty.general': 40, 'bonus_cap': 60}
>>> over = {"work_safety": SectorOverride(persons=ScorecardPatch(bonus_cap=0))}
>>> from creditbrain.schemas.events import SubjectType
>>> [name for name, _ in layers(patch, over, "work_safety", SubjectType.PERSON)]
['persons', 'sectors.work_safety', 'sectors.work_safety.persons']
>>> [name for name, _ in layers(patch, over, "finance", SubjectType.ENTERPRISE)]
[]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from creditbrain.models.record_class import RecordClass
from creditbrain.schemas.events import SubjectType

__all__ = [
    "ScorecardInUse",
    "ScorecardPatch",
    "SectorOverride",
    "changes",
    "in_use",
    "layers",
    "merged",
]

_AmountField = Literal["step_cny", "per_step", "max_extra"]
_MonthsField = Literal["base", "step_months", "per_step", "max_total"]


class ScorecardPatch(BaseModel):
    """What one override changes of the scorecard: weights and periods, nothing else.

    Each field is a part of :class:`~.scorecard.ScorecardConfig` of the same name;
    a table lists only the classes (or fields) it changes. In JSON, ``null`` as a
    publicity period means "until something ends it".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    deductions: dict[RecordClass, NonNegativeInt] = Field(default_factory=dict)
    bonuses: dict[RecordClass, NonNegativeInt] = Field(default_factory=dict)
    bonus_cap: NonNegativeInt | None = None
    penalty_amount: dict[_AmountField, NonNegativeInt] = Field(default_factory=dict)
    tax_arrears_months: dict[_MonthsField, NonNegativeInt] = Field(default_factory=dict)
    social_insurance_arrears_months: dict[_MonthsField, NonNegativeInt] = Field(
        default_factory=dict
    )
    publicity_days: dict[RecordClass, NonNegativeInt | None] = Field(default_factory=dict)
    repair_after_days: dict[RecordClass, NonNegativeInt] = Field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        """The parts this patch sets (empty tables and an unset cap left out)."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if value is not None and value != {} and name != "persons"
        }


class SectorOverride(ScorecardPatch):
    """A sector's patch, for every subject of the sector, and its patch for persons in it."""

    persons: ScorecardPatch | None = None


class ScorecardInUse(BaseModel):
    """Which scorecard scores a subject: the default, with the overrides that concern it."""

    model_config = ConfigDict(frozen=True)

    #: The patches laid over the default, most general first; empty: the default alone.
    overrides: list[str] = Field(
        default_factory=list,
        description="Overrides applied over the default scorecard, most general first "
        "(`persons`, `sectors.<sector>`, `sectors.<sector>.persons`); empty: the default.",
    )
    #: What they change, as ``part.class`` -> value (the last override wins).
    changes: dict[str, int | None] = Field(
        default_factory=dict,
        description="What the overrides change: `deductions.penalty.general` -> 40, ... "
        "(a publicity period of null counts until something ends the record).",
    )


def layers(
    persons: ScorecardPatch | None,
    sectors: Mapping[str, SectorOverride],
    sector: str,
    subject_type: SubjectType,
) -> tuple[tuple[str, ScorecardPatch], ...]:
    """The patches that concern a subject of ``sector`` and ``subject_type``, in order."""
    person = subject_type is SubjectType.PERSON
    found: list[tuple[str, ScorecardPatch]] = []
    if person and persons is not None:
        found.append(("persons", persons))
    own = sectors.get(sector)
    if own is not None:
        found.append((f"sectors.{sector}", own))
        if person and own.persons is not None:
            found.append((f"sectors.{sector}.persons", own.persons))
    return tuple(found)


def merged(base: dict[str, Any], patch: ScorecardPatch) -> dict[str, Any]:
    """``base`` (a scorecard as a dict) with ``patch`` laid over it, tables key by key.

    >>> merged({"bonus_cap": 100, "deductions": {"a": 1, "b": 2}},
    ...        ScorecardPatch(deductions={"penalty.general": 5}))
    {'bonus_cap': 100, 'deductions': {'a': 1, 'b': 2, 'penalty.general': 5}}
    """
    out = dict(base)
    for name, value in patch.given().items():
        if isinstance(value, dict):
            out[name] = {**out.get(name, {}), **value}
        else:
            out[name] = value
    return out


def changes(*patches: ScorecardPatch) -> dict[str, int | None]:
    """What ``patches`` set, flattened to ``part.key`` -> value; a later patch wins."""
    out: dict[str, int | None] = {}
    for patch in patches:
        for name, value in patch.given().items():
            if isinstance(value, dict):
                out.update({f"{name}.{key}": item for key, item in value.items()})
            else:
                out[name] = value
    return out


def in_use(
    persons: ScorecardPatch | None,
    sectors: Mapping[str, SectorOverride],
    sector: str,
    subject_type: SubjectType,
) -> ScorecardInUse:
    """Which overrides score a subject of ``sector`` and ``subject_type``, and what they change.

    >>> sectors = {"work_safety": SectorOverride(publicity_days={"penalty.general": 730})}
    >>> in_use(None, sectors, "work_safety", SubjectType.ENTERPRISE)
    ScorecardInUse(overrides=['sectors.work_safety'],
                   changes={'publicity_days.penalty.general': 730})
    >>> in_use(None, sectors, "finance", SubjectType.ENTERPRISE).overrides
    []
    """
    found = layers(persons, sectors, sector, subject_type)
    return ScorecardInUse(
        overrides=[name for name, _ in found], changes=changes(*(patch for _, patch in found))
    )
