"""A snoozed subject's warnings are stored, marked snoozed, and not delivered until the
snooze ends in event time; then they are delivered again. The worker's processor and
``creditbrain backtest`` hold back the same changes (the engine decides)."""

from __future__ import annotations

import orjson

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.snooze import Snooze, SnoozeSet, apply_snooze_message
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.engine.replay import backtest
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import WARNINGS, WARNINGS_GRID
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.streams.messages import ALERTS_LOG, Inbound
from creditbrain.streams.processor import Processor
from creditbrain.streams.rows import alert_rows
from tests.strategies import DAY, ENTERPRISE_ID, T0, make_event

KEY = "test-pseudonym-key"
OTHER = "933711027JH4BXKF5N"


def _lines() -> list[bytes]:
    """Two subjects with wage arrears on day 1, escalated on day 2, again on day 40."""
    events = []
    for subject in (ENTERPRISE_ID, OTHER):
        for day, workers in ((1, 3), (2, 30)):
            events.append(
                make_event(
                    "wage_arrears",
                    {"amount_cny": 1, "workers_affected": workers},
                    at=day * DAY,
                    subject_id=subject,
                )
            )
    events.append(make_event("dishonest_debtor", {"case_no": "C-9"}, at=40 * DAY))
    return [event_to_json(e) for e in events]


#: Every rule of ENTERPRISE_ID until day 30 (event time).
UNTIL = to_epoch_ms(T0 + 30 * DAY)
SNOOZES = apply_snooze_message(
    SnoozeSet(), b"z1", Snooze("z1", ENTERPRISE_ID, None, UNTIL, "under review").to_json()
)


def _logged(value: bytes) -> tuple[str, int, bool, bool]:
    change = orjson.loads(value)
    return change["doc"]["subject"], change["version"], change["notify"], change["snoozed"]


def test_snoozed_changes_are_stored_marked_and_not_delivered_until_the_snooze_ends() -> None:
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)
    processor.snoozes = SNOOZES
    inbound = [Inbound("in", 0, i, None, line) for i, line in enumerate(_lines())]
    held, after = processor.process(inbound[:4]).outbound, processor.process(inbound[4:]).outbound

    stored = [m for m in held if m.topic == ALERTS_LOG]
    delivered = [m for m in held if m.topic in (WARNINGS, WARNINGS_GRID)]
    mine = [_logged(m.value) for m in stored if m.key == ENTERPRISE_ID.encode()]
    assert mine and all(snoozed and not notify for _, _, notify, snoozed in mine)
    assert {m.key for m in delivered} == {OTHER.encode()}  # the other subject is not snoozed
    tables = alert_rows(stored[0].value)
    [(alert_id, version, subject, *_)] = tables["alert_snoozes"]
    assert (alert_id, version) == (tables["alerts"][0][0], tables["alerts"][0][-1])
    assert subject == ENTERPRISE_ID and "alert_events" not in tables

    # Day 40 is past the snooze's end in event time: delivered again, no longer marked.
    logged = [_logged(m.value) for m in after if m.topic == ALERTS_LOG]
    assert logged and not any(snoozed for *_, snoozed in logged)
    assert not any("alert_snoozes" in alert_rows(m.value) for m in after if m.topic == ALERTS_LOG)
    assert {m.key for m in after if m.topic == WARNINGS} == {ENTERPRISE_ID.encode()}


def test_one_rule_snoozed_leaves_the_others_delivered_and_backtest_agrees() -> None:
    snoozes = SnoozeSet().with_snooze(
        Snooze("z2", ENTERPRISE_ID, "wage_arrears", to_epoch_ms(T0 + 100 * DAY), "known")
    )
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)
    processor.snoozes = snoozes
    lines = _lines()
    outbound = processor.process(
        [Inbound("in", 0, i, None, line) for i, line in enumerate(lines)]
    ).outbound
    worker = {
        (doc["doc"]["data"]["alert_id"], doc["version"]): doc["snoozed"]
        for doc in (orjson.loads(m.value) for m in outbound if m.topic == ALERTS_LOG)
    }
    rules = {
        doc["doc"]["data"]["rule"]
        for doc in (orjson.loads(m.value) for m in outbound if m.topic == ALERTS_LOG)
        if doc["doc"]["subject"] == ENTERPRISE_ID and not doc["snoozed"]
    }
    assert "wage_arrears" not in rules and "dishonest_debtor_listed" in rules
    sent = [orjson.loads(m.value) for m in outbound if m.topic == WARNINGS]
    assert not any(
        s["subject"] == ENTERPRISE_ID and s["data"]["rule"] == "wage_arrears" for s in sent
    )

    changes, _ = backtest(
        lines, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD, PolicySet(), snoozes=snoozes
    )
    assert {(c["alert_id"], c["version"]): c.get("snoozed", False) for c in changes} == worker
    assert any(c.get("snoozed") for c in changes)
