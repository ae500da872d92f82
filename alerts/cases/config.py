"""Who owns a case and by when it must be acted on: routing and deadlines as data.

A case is routed to a regulator team by the subject's sector and district
(:meth:`CaseConfig.team_for`): the most specific configured route wins (sector and
district, then sector, then district), else the default team, a template that by
default names the sector's team in the district (``food_drug@371102``).

Deadlines are set per level in working time (:class:`Deadline`): by default a red
case is acknowledged within 4 working hours and disposed within 3 working days;
a sector may configure its own, like thresholds. An objection is decided within
``objection_days`` working days (山东省社会信用条例 Art. 39: 3).

>>> config = CaseConfig(routes=(Route(sector="finance", team="finance-office"),))
>>> config.team_for("finance", "371103"), config.team_for("food_drug", "371102")
('finance-office', 'food_drug@371102')
>>> config.deadline_for("construction", "red")
Deadline(acknowledge_hours=4.0, dispose_days=3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.warnings import Level

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Deadline(BaseModel):
    """Working hours to acknowledge a case, working days to dispose of it."""

    model_config = _FROZEN

    acknowledge_hours: Annotated[float, Field(gt=0, le=500)]
    dispose_days: Annotated[int, Field(ge=1, le=250)]


#: Red: the issue's example (4 working hours, 3 working days); each lower level gets
#: about twice the time of the one above it.
DEFAULT_DEADLINES: dict[Level, Deadline] = {
    "red": Deadline(acknowledge_hours=4, dispose_days=3),
    "orange": Deadline(acknowledge_hours=8, dispose_days=5),
    "yellow": Deadline(acknowledge_hours=16, dispose_days=10),
    "blue": Deadline(acknowledge_hours=40, dispose_days=20),
}


class Route(BaseModel):
    """Cases in ``sector`` and/or ``district`` (``None``: any) go to ``team``."""

    model_config = _FROZEN

    sector: str | None = None
    district: str | None = None
    team: Annotated[str, Field(min_length=1, max_length=128)]


class CaseConfig(BaseModel):
    """Routing and deadlines of cases (a deployment's file, :meth:`load`)."""

    model_config = _FROZEN

    routes: tuple[Route, ...] = ()
    default_team: str = Field(
        default="{sector}@{district}",
        description="The team when no route matches; {sector} and {district} are filled in.",
    )
    deadlines: dict[Level, Deadline] = Field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    sector_deadlines: dict[str, dict[Level, Deadline]] = Field(default_factory=dict)
    objection_days: Annotated[int, Field(ge=1, le=60)] = 3

    def team_for(self, sector: str, district: str) -> str:
        """The team that owns a case in ``sector`` and ``district``."""
        best: tuple[int, str] | None = None
        for route in self.routes:
            if route.sector not in (None, sector) or route.district not in (None, district):
                continue
            # Sector and district beat sector alone, which beats district alone.
            rank = (2 if route.sector else 0) + (1 if route.district else 0)
            if best is None or rank > best[0]:
                best = (rank, route.team)
        if best is not None:
            return best[1]
        return self.default_team.format(sector=sector, district=district)

    def deadline_for(self, sector: str, level: Level) -> Deadline:
        """The deadline of a case at ``level`` in ``sector``.

        >>> fast = Deadline(acknowledge_hours=2, dispose_days=1)
        >>> config = CaseConfig(sector_deadlines={"food_drug": {"red": fast}})
        >>> config.deadline_for("food_drug", "red").dispose_days
        1
        >>> config.deadline_for("food_drug", "orange").dispose_days
        5
        """
        own = self.sector_deadlines.get(sector, {})
        return own.get(level) or self.deadlines.get(level) or DEFAULT_DEADLINES[level]

    @classmethod
    def load(cls, path: Path) -> CaseConfig:
        """A deployment's configuration, a JSON file of this model's fields."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except OSError as error:
            raise ConfigurationError(f"case configuration {path}: {error.strerror}") from error
        except ValidationError as error:
            raise ConfigurationError(f"case configuration {path}: {error}") from error
