"""Calendar effects: weekends, the Spring Festival's wage arrears, tax deadlines."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime

import pytest

from creditbrain.simulator import CityConfig
from creditbrain.simulator.calendar import spring_festival
from tests.simulator.conftest import Generated, generate

#: Background only, five times the usual activity: enough records for stable densities.
BUSY = CityConfig.scaled(
    0.02, seed=5, activity=5, error_rate=0, deteriorating_share=0, recovering_share=0,
    systemic_episodes=0,
)  # fmt: skip


@pytest.fixture(scope="module")
def days_by_kind() -> dict[str, Counter[date]]:
    run: Generated = generate(BUSY)
    counts: dict[str, Counter[date]] = {}
    for event in run.events:
        body = json.loads(event.value)
        day = datetime.fromisoformat(body["occurred_at"]).date()
        counts.setdefault(body["kind"], Counter())[day] += 1
    return counts


def _density(counts: Counter[date], days: list[date]) -> float:
    return sum(counts[d] for d in days) / len(days)


YEAR = [date.fromordinal(date(2025, 1, 1).toordinal() + i) for i in range(365)]


def test_wage_arrears_peak_before_the_spring_festival(days_by_kind) -> None:
    festival = spring_festival(2025)
    before = [d for d in YEAR if 2 <= (festival - d).days <= 30 and d.weekday() < 5]
    workdays = [d for d in YEAR if d.weekday() < 5]
    wages = days_by_kind["wage_arrears"]
    assert _density(wages, before) > 2 * _density(wages, workdays)


def test_tax_arrears_follow_quarterly_deadlines(days_by_kind) -> None:
    after = [d for d in YEAR if d.month in (1, 4, 7, 10) and 16 <= d.day <= 31 and d.weekday() < 5]
    late = [d for d in YEAR if d.month in (3, 6, 9, 12) and d.weekday() < 5]
    taxes = days_by_kind["tax_arrears"]
    assert _density(taxes, after) > 1.5 * _density(taxes, late)


def test_weekends_are_quiet(days_by_kind) -> None:
    licences = days_by_kind["license"]
    weekdays = [d for d in YEAR if d.weekday() < 5]
    weekends = [d for d in YEAR if d.weekday() >= 5]
    assert _density(licences, weekends) < 0.25 * _density(licences, weekdays)
