"""A policy change re-judges the open warnings it concerns, at once and in event time."""

from __future__ import annotations

import orjson

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.engine import Engine
from creditbrain.engine import effects as fx
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.events import ParseContext

FOOD = "91371102AY4CL12T2Q"  # food_drug / 371102
OTHER = "91350100M000100Y43"  # finance / 371103
SCOPE = "sector=food_drug|district=371102"


def event(n: int, subject: str, kind: str, sector: str, district: str, day: int, **payload: object
          ) -> bytes:  # fmt: skip
    return orjson.dumps(
        {
            "schema_version": 1,
            "event_id": f"00000000-0000-4000-8000-{n:012d}",
            "kind": kind,
            "subject": {"type": "enterprise", "id": subject},
            "source": "court" if kind == "dishonest_debtor" else "human_resources_bureau",
            "sector": sector,
            "district": district,
            "occurred_at": f"2026-03-{day:02d}T09:30:00+08:00",
            "reported_at": f"2026-03-{day:02d}T09:30:00+08:00",
            "payload": payload,
        }
    )


LINES = [
    event(1, FOOD, "wage_arrears", "food_drug", "371102", 2, amount_cny=9000, workers_affected=5),
    event(2, OTHER, "wage_arrears", "finance", "371103", 3, amount_cny=9000, workers_affected=5),
    event(3, OTHER, "dishonest_debtor", "finance", "371103", 6, case_no="C-1"),
]


def engine_after(lines: list[bytes]) -> Engine:
    engine = Engine({}, ParseContext(b"k"), DEFAULT_SCORECARD)
    for line in lines:
        engine.apply(line)
    return engine


def changes(effects: list[fx.Effect]) -> list[tuple[str, str, str, str, int]]:
    return [
        (u.key.decode(), u.rule, u.change, u.doc["data"]["level"], e.at_ms)
        for e in effects
        if isinstance(e, fx.WarningChanged) and (u := e.update)
    ]


def with_override(policies: PolicySet, scope: str, override: dict[str, object]) -> PolicySet:
    return policies.with_override(scope, PolicyOverride.model_validate(override))


def test_a_lowered_threshold_escalates_the_open_warnings_of_its_scope_only() -> None:
    engine = engine_after(LINES)
    levels = {(s, r): lv for s, r, _, lv, _ in changes(engine.apply(LINES[0]))}
    assert levels == {}  # a duplicate: nothing new
    lowered = with_override(
        engine.policies, SCOPE, {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
    )
    watermark = engine.watermark_ms
    effects = engine.change_policies(lowered, at_ms=watermark + 10**9)
    # The food employer's arrears of 5 workers are red from 3; the finance one's are not
    # in the scope; the change happens at the event time reached, not in the future.
    assert changes(effects) == [(FOOD, "wage_arrears", "escalated", "red", watermark)]
    assert engine.policies is lowered
    assert engine.change_policies(lowered, watermark) == []  # the same set: nothing to re-judge


def test_a_raised_threshold_resolves_at_the_change_time_and_later_events_follow_it() -> None:
    engine = engine_after(LINES)
    at = engine.watermark_ms - 1000  # before the watermark: the change's own time
    raised = with_override(engine.policies, "sector=finance", {"rules": {"score_drop": {
        "thresholds": {"points": 500}}}})  # fmt: skip
    effects = engine.change_policies(raised, at)
    # OTHER's score fell by more than 100 but less than 500: its drop warning resolves;
    # its arrears warning's policy did not change, FOOD is outside the scope.
    assert changes(effects) == [(OTHER, "score_drop", "resolved", "orange", engine.watermark_ms)]
    assert [type(e).__name__ for e in effects].count("StateChanged") >= 1


def test_drivers_agree_when_the_change_enters_at_the_same_place() -> None:
    """Whatever order a driver keeps its subjects in, the re-judging says the same."""
    lowered = {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
    said = []
    for order in (LINES, [LINES[1], LINES[0], LINES[2]]):
        engine = engine_after(order)
        # The same subjects held in another order (as a worker's table might).
        engine.subjects = dict(reversed(list(engine.subjects.items())))
        engine.alert_states.subjects = engine.subjects
        effects = engine.change_policies(with_override(engine.policies, "*", lowered), 0)
        said.append([e.update.body for e in effects if isinstance(e, fx.WarningChanged)])
    assert said[0] == said[1] and len(said[0]) == 2
