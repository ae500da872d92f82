"""What city to simulate: population, time span, story shares and error rate.

Examples
--------
>>> config = CityConfig(seed=7, days=30)
>>> config.subjects
52300
>>> CityConfig.scaled(0.01).enterprises
200
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from creditbrain.simulator.calendar import FIRST_DAY, LAST_DAY

#: The population counts, one per subject type.
POPULATION_FIELDS = (
    "enterprises",
    "non_enterprises",
    "individual_businesses",
    "government_bodies",
    "persons",
)


class CityConfig(BaseModel):
    """Parameters of one simulated run; equal configs give byte-identical output."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=2025, ge=0, description="Seed of every random choice.")
    enterprises: int = Field(default=20_000, ge=0, description="企业")
    non_enterprises: int = Field(
        default=2_000, ge=0, description="事业单位 and social organisations (non_enterprise)"
    )
    individual_businesses: int = Field(default=10_000, ge=0, description="个体工商户")
    government_bodies: int = Field(default=300, ge=0, description="机关 (government)")
    persons: int = Field(default=20_000, ge=0, description="natural persons")
    start: date = Field(default=date(2025, 1, 1), description="First day (local, UTC+08:00).")
    days: int = Field(default=365, ge=1, le=4_000, description="Event-time span in days.")
    activity: float = Field(
        default=1.0, gt=0, le=1_000, description="Multiplier on every background event rate."
    )
    error_rate: float = Field(
        default=0.003, ge=0, le=0.5, description="Share of messages that are deliberately bad."
    )
    deteriorating_share: float = Field(
        default=0.025, ge=0, le=0.5, description="Share of organisations that deteriorate."
    )
    recovering_share: float = Field(
        default=0.02, ge=0, le=0.5, description="Share of organisations that recover."
    )
    systemic_episodes: int = Field(
        default=3, ge=0, le=100, description="Sector × district bursts of one kind."
    )
    story_mix: Literal["classic", "varied"] = Field(
        default="classic",
        description=(
            "classic: one deteriorating script; varied: several kinds of decline, healthy "
            "look-alikes that recover, sector and size differences, more background noise."
        ),
    )
    shuffle_window: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Emit out of event-time order within this many messages (0: in order).",
    )

    @model_validator(mode="after")
    def _coherent(self) -> CityConfig:
        if self.subjects == 0:
            raise ValueError("the population is empty")
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise ValueError(
                f"the span must lie within {FIRST_DAY}..{LAST_DAY} (the Spring Festival table)"
            )
        if self.deteriorating_share + self.recovering_share > 0.5:
            raise ValueError("deteriorating_share + recovering_share must not exceed 0.5")
        return self

    @property
    def subjects(self) -> int:
        """Every subject of the population."""
        return (
            self.enterprises
            + self.non_enterprises
            + self.individual_businesses
            + self.government_bodies
            + self.persons
        )

    @property
    def end(self) -> date:
        """The last simulated day."""
        return self.start + timedelta(days=self.days - 1)

    @classmethod
    def scaled(cls, factor: float, **overrides: object) -> CityConfig:
        """The default population multiplied by ``factor`` (each type at least one subject)."""
        counts = {
            name: max(1, round(int(cls.model_fields[name].default) * factor))
            for name in POPULATION_FIELDS
        }
        return cls.model_validate({**counts, **overrides})
