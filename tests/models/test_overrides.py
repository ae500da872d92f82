"""Per-sector scorecard overrides and the separate weighting of persons.

Each test scores the same records under the default and under an override, so a
test fails if the override is ignored as well as if it leaks to subjects it does
not concern.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.models.scorecard import (
    DEFAULT_SCORECARD,
    Applied,
    Rejected,
    ScorecardConfig,
    apply_event,
    evaluate,
    load_scorecard,
    resolved,
)
from creditbrain.schemas.events import CreditEvent, SubjectType
from creditbrain.schemas.identifiers import generate_resident_id
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.state import EntityState
from tests.strategies import DAY, T0, events_for_subject, make_event

PERSON_ID = generate_resident_id(random.Random(7), "371102")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def penalty(sector: str, at: timedelta = timedelta(0), person: bool = False, **payload: object):
    """A general penalty of the enterprise (or the person) in ``sector``."""
    extra = {"subject_id": PERSON_ID, "subject_type": SubjectType.PERSON} if person else {}
    body = {"decision_no": "D-1", "severity": "general", **payload}
    return make_event("penalty", body, at=at, sector=sector, **extra)  # type: ignore[arg-type]


def scored(events: list[CreditEvent], config: ScorecardConfig, offset: timedelta) -> int:
    state = EntityState.for_event(events[0])
    for event in events:
        assert isinstance(apply_event(state, event, config), Applied)
    return evaluate(state, to_epoch_ms(T0 + offset), config).score


def config_of(doc: dict[str, object]) -> ScorecardConfig:
    return ScorecardConfig.model_validate(doc)


LONGER = config_of({"sectors": {"work_safety": {"publicity_days": {"penalty.general": 730}}}})


def test_a_sector_with_a_longer_period_keeps_the_deduction_longer() -> None:
    safety, market = [penalty("work_safety")], [penalty("market_regulation")]
    # Day 400: past the default year, within the sector's two years.
    assert scored(safety, LONGER, 400 * DAY) == 980
    assert scored(market, LONGER, 400 * DAY) == 1000
    assert scored(safety, DEFAULT_SCORECARD, 400 * DAY) == 1000
    # Half-open: counts up to the last millisecond of day 729, not on day 730.
    assert scored(safety, LONGER, 730 * DAY - timedelta(milliseconds=1)) == 980
    assert scored(safety, LONGER, 730 * DAY) == 1000
    state = EntityState.for_event(safety[0])
    apply_event(state, safety[0], LONGER)
    result = evaluate(state, to_epoch_ms(T0), LONGER)
    assert result.next_change_at == to_epoch_ms(T0 + 730 * DAY)


def test_a_weight_override_changes_the_score_by_the_expected_amount() -> None:
    config = config_of(
        {
            "sectors": {
                "food_drug": {
                    "deductions": {"penalty.general": 45},
                    "penalty_amount": {"per_step": 15},  # step and cap stay 100,000 and 40
                }
            }
        }
    )
    plain = [penalty("food_drug")]
    # 1000 - 45 instead of 1000 - 20: 25 points more.
    assert scored(plain, DEFAULT_SCORECARD, DAY) - scored(plain, config, DAY) == 25
    assert scored(plain, config, DAY) == 955
    fined = [penalty("food_drug", amount_cny=250_000)]
    # Two whole steps of 100,000: 2 x 15 = 30 extra (default 2 x 10 = 20).
    assert scored(fined, config, DAY) == 1000 - 45 - 30
    assert scored(fined, DEFAULT_SCORECARD, DAY) == 1000 - 20 - 20
    # Another sector keeps the default weights.
    assert scored([penalty("finance", amount_cny=250_000)], config, DAY) == 960


def test_persons_are_weighted_apart() -> None:
    config = config_of(
        {
            "persons": {"deductions": {"penalty.general": 10}},
            "sectors": {
                "work_safety": {
                    "deductions": {"penalty.general": 40},
                    "persons": {"deductions": {"penalty.general": 15}},
                },
                "finance": {"publicity_days": {"penalty.general": 730}},
            },
        }
    )
    market = "market_regulation"
    assert scored([penalty(market, person=True)], config, DAY) == 990  # persons: 10
    assert scored([penalty(market)], config, DAY) == 980  # enterprises: the default 20
    assert scored([penalty("work_safety", person=True)], config, DAY) == 985  # sector's persons
    assert scored([penalty("work_safety")], config, DAY) == 960  # the sector's 40
    # A sector that changes periods only: persons keep their own weight, and its period.
    assert scored([penalty("finance", person=True)], config, 400 * DAY) == 990
    assert scored([penalty(market, person=True)], config, 400 * DAY) == 1000


def test_a_repair_minimum_per_sector() -> None:
    longer = {"repair_after_days": {"penalty.general": 365}}
    config = config_of({"sectors": {"work_safety": longer}})
    for sector, verdict in (("work_safety", Rejected), ("finance", Applied)):
        record = penalty(sector)
        state = EntityState.for_event(record)
        apply_event(state, record, config)
        repair = make_event(
            "repair", {"ref_event_id": str(record.event_id)}, at=100 * DAY, sector=sector
        )
        outcome = apply_event(state, repair, config)
        assert isinstance(outcome, verdict), sector
        if isinstance(outcome, Rejected):
            assert outcome.reason is Reason.REPAIR_TOO_EARLY


UNRELATED = config_of(
    {
        "persons": {"deductions": {"penalty.general": 5}},
        "sectors": {"customs": {"deductions": {"dishonest_debtor": 1}, "bonus_cap": 0}},
    }
)


@given(events_for_subject(SubjectType.ENTERPRISE))
@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
def test_overrides_that_do_not_concern_a_subject_leave_its_scores_alone(
    events: list[CreditEvent],
) -> None:
    events = [e for e in events if e.sector != "customs"]
    if not events:
        return
    default, other = EntityState.for_event(events[0]), EntityState.for_event(events[0])
    for event in events:
        assert apply_event(default, event, DEFAULT_SCORECARD) == apply_event(
            other, event, UNRELATED
        )
    for event in events:
        at = to_epoch_ms(event.occurred_at)
        assert evaluate(default, at, DEFAULT_SCORECARD) == evaluate(other, at, UNRELATED)


def test_resolution_and_what_a_credit_check_shows() -> None:
    config = config_of(
        {
            "persons": {"bonus_cap": 50},
            "sectors": {"work_safety": {"publicity_days": {"penalty.general": 730}}},
        }
    )
    assert resolved(config, "finance", SubjectType.ENTERPRISE) is config
    person = resolved(config, "work_safety", SubjectType.PERSON)
    assert (person.bonus_cap, person.publicity_days["penalty.general"]) == (50, 730)
    assert person.deductions == DEFAULT_SCORECARD.deductions  # tables merged, not replaced
    shown = config.in_use("work_safety", SubjectType.PERSON)
    assert shown.overrides == ["persons", "sectors.work_safety"]
    assert shown.changes == {"bonus_cap": 50, "publicity_days.penalty.general": 730}
    assert config.in_use("finance", SubjectType.ENTERPRISE).overrides == []


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"sectors": {"work_safty": {}}}, "sectors.work_safty: not a sector of the deployment"),
        (
            {"sectors": {"work_safety": {"publicity_days": {"penalty.general": -1}}}},
            "sectors.work_safety.publicity_days.penalty.general: ",
        ),
        (
            {"sectors": {"work_safety": {"grade_a_min": 950}}},
            "sectors.work_safety.grade_a_min: Extra inputs are not permitted",
        ),
        (
            {"persons": {"bonuses": {"penalty.general": 5}}},
            "persons: penalty.general: both a deduction and a bonus",
        ),
        (
            {"sectors": {"finance": {"persons": {"deductions": {"tax_arrears": 5}}}}},
            "sectors.finance.persons: tax_arrears is scored by tax_arrears_months",
        ),
        (
            {"sectors": {"finance": {"tax_arrears_months": {"step_months": 0}}}},
            "sectors.finance: tax_arrears_months.step_months: ",
        ),
    ],
    ids=["sector", "negative", "grades", "both", "persons-months", "months-step"],
)
def test_bad_overrides_are_one_line_errors(tmp_path: Path, doc: dict, message: str) -> None:
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigurationError) as caught:
        load_scorecard(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"scorecard {path}: {message}"), text


def test_the_documented_example_loads_and_applies(tmp_path: Path) -> None:
    """The override file of docs/operations.md is a valid scorecard that does what it says."""
    section = DOCS.read_text(encoding="utf-8").split("## Scorecard overrides", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    path = tmp_path / "scorecard.toml"
    path.write_text(example.group(1), encoding="utf-8")
    config = load_scorecard(path)
    assert config.sectors and config.persons is not None
    assert config.in_use("work_safety", SubjectType.PERSON).overrides == [
        "persons",
        "sectors.work_safety",
        "sectors.work_safety.persons",
    ]
