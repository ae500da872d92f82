"""The month's random inspection list (双随机抽查) by credit grade (分级分类监管).

Supervision by grade inspects D-grade subjects often and A-grade ones rarely: each
sector draws, every month, a share of its subjects per grade (:class:`InspectionRates`,
configurable per sector). Within a grade the subjects are drawn at random, without
replacement; ``round(n × rate)`` are drawn, the fraction rounded up or down at
random so that over many months each subject is drawn with probability ``rate``.

The draw is reproducible: the same seed, sector, month and subjects give the same
list, whatever order the subjects come in, so an inspection list can be re-derived
and checked by whoever audits it. :func:`to_csv` writes the list for the
random-inspection system.

>>> subjects = [Inspectable(f"s{i:02}", "", "D" if i < 10 else "A", "371102")
...             for i in range(40)]
>>> picks = draw(subjects, "food_drug", "2026-03", seed=7)
>>> picks == draw(list(reversed(subjects)), "food_drug", "2026-03", seed=7)
True
>>> sum(p.grade == "D" for p in picks)
3
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Iterable
from typing import Annotated, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

Rate = Annotated[float, Field(ge=0, le=1)]


class InspectionRates(BaseModel):
    """The share of a sector's subjects of each grade inspected in a month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    A: Rate = 0.02
    B: Rate = 0.05
    C: Rate = 0.10
    D: Rate = 0.30

    def of(self, grade: str) -> float:
        """The rate of ``grade``; a subject without a grade is inspected like a C."""
        return float(getattr(self, grade)) if grade in ("A", "B", "C", "D") else self.C


class InspectionConfig(BaseModel):
    """Default rates and the sectors that set their own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rates: InspectionRates = InspectionRates()
    sector_rates: dict[str, InspectionRates] = Field(default_factory=dict)

    def rates_for(self, sector: str) -> InspectionRates:
        """The rates in force for ``sector``."""
        return self.sector_rates.get(sector, self.rates)


class Inspectable(NamedTuple):
    """A subject that may be drawn, with its grade now."""

    subject_id: str
    name: str
    grade: str
    district: str


def draw(
    subjects: Iterable[Inspectable],
    sector: str,
    month: str,
    *,
    seed: int,
    rates: InspectionRates | None = None,
) -> list[Inspectable]:
    """The subjects of ``sector`` to inspect in ``month`` (``YYYY-MM``), by grade then id."""
    rates = rates or InspectionRates()
    # A str seed is hashed with SHA-512 by random.Random: stable across runs and platforms.
    rng = random.Random(f"{seed}|{sector}|{month}")  # noqa: S311 - a draw, not a secret
    by_grade: dict[str, list[Inspectable]] = {}
    for subject in sorted(set(subjects)):
        by_grade.setdefault(subject.grade, []).append(subject)
    picks: list[Inspectable] = []
    for grade in sorted(by_grade):
        group = by_grade[grade]
        expected = len(group) * rates.of(grade)
        whole = math.floor(expected)
        count = whole + (1 if rng.random() < expected - whole else 0)
        picks.extend(sorted(rng.sample(group, min(count, len(group)))))
    return picks


def to_csv(picks: Iterable[Inspectable], sector: str, month: str, seed: int) -> str:
    """The list as CSV for the random-inspection system: one row per subject.

    >>> print(to_csv([Inspectable("s1", "某公司", "D", "371102")], "food_drug", "2026-03", 7))
    sector,month,seed,subject_id,name,grade,district
    food_drug,2026-03,7,s1,某公司,D,371102
    <BLANKLINE>
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("sector", "month", "seed", "subject_id", "name", "grade", "district"))
    for pick in picks:
        writer.writerow((sector, month, seed, *pick))
    return out.getvalue()
