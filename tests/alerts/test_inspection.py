"""The monthly inspection list: reproducible from its seed, frequencies by grade as configured."""

from __future__ import annotations

from collections import Counter

from creditbrain.alerts.inspection import Inspectable, InspectionConfig, InspectionRates, draw

SUBJECTS = [
    Inspectable(f"s{i:03}", "", grade, "371102")
    for i, grade in enumerate(["A"] * 100 + ["B"] * 60 + ["C"] * 30 + ["D"] * 10)
]
RATES = InspectionRates(A=0.01, B=0.05, C=0.2, D=0.55)


def test_the_same_seed_gives_the_same_list_and_another_seed_another() -> None:
    first = draw(SUBJECTS, "food_drug", "2026-03", seed=11, rates=RATES)
    assert first == draw(SUBJECTS[::-1], "food_drug", "2026-03", seed=11, rates=RATES)
    others = {tuple(draw(SUBJECTS, "food_drug", "2026-03", seed=s, rates=RATES)) for s in range(5)}
    assert len(others) > 1
    assert draw(SUBJECTS, "food_drug", "2026-04", seed=11, rates=RATES) != first


def test_frequencies_by_grade_over_many_draws() -> None:
    months = 2000
    drawn: Counter[str] = Counter()
    per_subject: Counter[str] = Counter()
    for seed in range(months):
        for pick in draw(SUBJECTS, "food_drug", "2026-03", seed=seed, rates=RATES):
            drawn[pick.grade] += 1
            per_subject[pick.subject_id] += 1
    sizes = Counter(s.grade for s in SUBJECTS)
    for grade in "ABCD":
        share = drawn[grade] / (sizes[grade] * months)
        assert abs(share - RATES.of(grade)) < 0.1 * RATES.of(grade) + 0.002, (grade, share)
    # Within a grade, every subject is as likely as another.
    d_counts = [per_subject[s.subject_id] for s in SUBJECTS if s.grade == "D"]
    assert max(d_counts) - min(d_counts) < 0.1 * months


def test_sectors_configure_their_own_rates() -> None:
    config = InspectionConfig(sector_rates={"finance": InspectionRates(A=0.0, B=0.0, C=0.0, D=1.0)})
    picks = draw(SUBJECTS, "finance", "2026-03", seed=1, rates=config.rates_for("finance"))
    assert {p.grade for p in picks} == {"D"} and len(picks) == 10
    assert config.rates_for("taxation") == InspectionRates()
