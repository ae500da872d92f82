"""Every message meets the wire contract, or fails it exactly as intended."""

from __future__ import annotations

import json
from collections import Counter

from creditbrain.schemas.contract import topic_for_kind
from creditbrain.schemas.events import KINDS, ParseContext
from creditbrain.schemas.parse import DeadLetter, parse_event
from creditbrain.schemas.reference import DISTRICTS, SECTORS
from tests.simulator.conftest import Generated

#: Judged against the subject's state by the stream, not by the parser.
STATEFUL = {"unknown_reference", "repair_too_early"}


def test_parser_verdicts_match_intended_reasons(
    small_run: Generated, parse_context: ParseContext
) -> None:
    verdicts: Counter[str] = Counter()
    for event in small_run.events:
        result = parse_event(event.value, parse_context)
        verdict = result.reason.value if isinstance(result, DeadLetter) else None
        intended = None if event.error in STATEFUL else event.error
        assert verdict == intended, (event.error, getattr(result, "detail", ""), event.value)
        verdicts[event.error or "valid"] += 1
    truth = small_run.truth
    assert verdicts.pop("valid") == truth["messages"]["valid"]
    assert verdicts == {r: n for r, n in truth["erroneous_by_reason"].items() if n}
    # A 2 % error rate over ~10,000 messages exercises every reason.
    assert set(verdicts) == set(truth["erroneous_by_reason"])


def test_valid_events_look_like_a_city(small_run: Generated) -> None:
    kinds: Counter[str] = Counter()
    for event in small_run.events:
        if event.error:
            continue
        body = json.loads(event.value)
        kinds[body["kind"]] += 1
        assert body["sector"] in SECTORS and body["district"] in DISTRICTS
        assert body["occurred_at"].endswith("+08:00") and body["reported_at"] >= body["occurred_at"]
        assert event.key == body["subject"]["id"].encode()
        assert event.kind == body["kind"]
        for field in ("amount_cny", "months_overdue", "workers_affected"):
            value = body["payload"].get(field)
            assert value is None or (isinstance(value, int | float) and value >= 0)
        if body["subject"]["type"] == "government":
            assert body["sector"] == "government"
    assert set(kinds) == set(KINDS)
    assert kinds["license"] > kinds["penalty"] > kinds["dishonest_debtor"]


def test_bad_messages_travel_on_their_intended_kind_topic(small_run: Generated) -> None:
    bad = [event for event in small_run.events if event.error]
    assert bad and all(event.kind in KINDS for event in bad)
    assert topic_for_kind("credit", bad[0].kind) == f"credit.{bad[0].topic_suffix}"
