"""Shadow policies through the API: scoped, audited, published; the report against a backtest.

The workers' side runs here as the processor (no broker): the shadow message the API
published is applied to it, a small stream is processed, and its ``alerts.shadow``
messages are stored as the sink would store them. The end-to-end run on the broker
is in tests/streams/test_warnings_e2e.py.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.engine.compare import compare
from creditbrain.engine.shadow import ShadowSet, apply_shadow_message
from creditbrain.infra.store import Store
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import POLICIES, SHADOW_POLICIES, WARNINGS, WARNINGS_GRID
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.streams.messages import SHADOW_ALERTS, Inbound
from creditbrain.streams.processor import Processor
from creditbrain.streams.rows import TABLE_COLUMNS
from creditbrain.streams.sink import rows_of
from tests.api.conftest import PSEUDONYM_KEY, FakePublisher, TestClient, audit_rows, key_header
from tests.strategies import DAY, make_event

FOOD = key_header("k-food")
SCOPE = "sector=food_drug|district=371102"
LOWER = {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
BODY = {"scope": SCOPE, "override": LOWER, "reason": "arrears season"}
EMPLOYERS = tuple(generate_credit_code(random.Random(n), "371102") for n in (1, 2))


def lines() -> list[bytes]:
    """Two food_drug employers in 371102 owing wages to 5, then 4 workers, a month apart."""
    events = []
    for n, subject in enumerate(EMPLOYERS):
        for day, workers in ((1 + n, 5), (30 + n, 4)):
            events.append(
                make_event(
                    "wage_arrears",
                    {"amount_cny": 10_000, "workers_affected": workers},
                    at=day * DAY,
                    subject_id=subject,
                    sector="food_drug",
                    district="371102",
                )
            )
    return [event_to_json(event) for event in events]


def test_a_shadow_is_scoped_audited_published_and_listed(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    assert client.put("/policies/shadow/arrears-3", json=BODY).status_code == 401
    outside = client.put(
        "/policies/shadow/arrears-3", json=BODY | {"scope": "sector=finance"}, headers=FOOD
    )
    assert outside.status_code == 403
    hall = client.put("/policies/shadow/arrears-3", json=BODY, headers=key_header("k-hall"))
    assert hall.status_code == 403
    assert client.put("/policies/shadow/Bad%20Name", json=BODY, headers=FOOD).status_code == 422
    put = client.put("/policies/shadow/arrears-3", json=BODY, headers=FOOD)
    assert put.status_code == 200, put.text
    assert put.json()["who"] == "food-supervisor" and put.json()["scope"] == SCOPE
    [(topic, key, value)] = publisher.sent
    assert (topic, key) == (f"credit.{SHADOW_POLICIES}", b"arrears-3")
    assert apply_shadow_message(ShadowSet(), key, value).by_name["arrears-3"].scope == SCOPE
    [row] = audit_rows(store, "shadow_policy")
    assert (row["actor"], row["subject_id"], row["purpose"]) == (
        "food-supervisor",
        SCOPE,
        "arrears season",
    )
    listed = client.get("/policies/shadow", headers=key_header("k-regulator")).json()["items"]
    assert [s["name"] for s in listed] == ["arrears-3"]
    other = client.get("/policies/shadow", headers=key_header("k-donggang-build")).json()
    assert other["items"] == []  # a construction supervisor does not see food_drug's shadows
    # Another supervisor may neither end nor report on it; its owner ends it.
    builder = key_header("k-donggang-build")
    assert client.get("/policies/shadow/arrears-3/report", headers=builder).status_code == 404
    ended = client.delete("/policies/shadow/arrears-3", params={"reason": "done"}, headers=FOOD)
    assert ended.status_code == 200
    assert publisher.sent[-1] == (f"credit.{SHADOW_POLICIES}", b"arrears-3", None)
    assert client.get("/policies/shadow", headers=FOOD).json()["items"] == []
    again = client.delete("/policies/shadow/arrears-3", params={"reason": "x"}, headers=FOOD)
    assert again.status_code == 404
    assert len(audit_rows(store, "shadow_policy_end")) == 1


def test_the_report_counts_what_a_backtest_counts_and_promote_makes_it_live(
    client: TestClient, store: Store, publisher: FakePublisher
) -> None:
    assert client.put("/policies/shadow/arrears-3", json=BODY, headers=FOOD).status_code == 200
    [(_, key, value)] = publisher.sent
    ctx = ParseContext(pseudonym_key=PSEUDONYM_KEY)
    processor = Processor({}, ctx, DEFAULT_SCORECARD)
    processor.shadows = apply_shadow_message(processor.shadows, key, value)
    stream = lines()
    outbound = processor.process(
        [Inbound("in", 0, offset, None, line) for offset, line in enumerate(stream)]
    ).outbound
    shadowed = [m for m in outbound if m.topic == SHADOW_ALERTS]
    delivered = [orjson.loads(m.value) for m in outbound if m.topic in (WARNINGS, WARNINGS_GRID)]
    # The shadow's red openings reach no warning topic: the live set opens orange.
    assert {w["data"]["level"] for w in delivered if w["data"]["rule"] == "wage_arrears"} == {
        "orange"
    }
    now = datetime.now(UTC)
    for message in shadowed:
        for table, rows in rows_of(SHADOW_ALERTS, message.value, {}, now, ("", 0, 0)).items():
            columns = TABLE_COLUMNS[table]
            store.insert_rows(
                table, [dict(zip(columns, row, strict=True)) for row in rows], columns
            )

    report = client.get("/policies/shadow/arrears-3/report", headers=FOOD)
    assert report.status_code == 200, report.text
    expected = compare(
        stream,
        ctx,
        DEFAULT_SCORECARD,
        PolicySet(),
        PolicySet().with_override(SCOPE, PolicyOverride.model_validate(LOWER)),
    ).as_dict()
    got = report.json()
    for side, backtested in (("live", "live"), ("shadow", "candidate")):
        assert got[side] == expected[backtested], side
    assert got["shadow"]["by_level"]["red"] == 2 and "red" not in got["live"]["by_level"]
    assert [s["subject_id"] for s in got["added"]] == sorted(EMPLOYERS)

    promoted = client.post(
        "/policies/shadow/arrears-3/promote", json={"reason": "it works"}, headers=FOOD
    )
    assert promoted.status_code == 200, promoted.text
    assert (promoted.json()["version"], promoted.json()["scope"]) == (1, SCOPE)
    assert promoted.headers["etag"] == '"1"'
    topics = [(topic, key) for topic, key, _ in publisher.sent]
    assert topics[1:] == [
        (f"credit.{POLICIES}", SCOPE.encode()),
        (f"credit.{SHADOW_POLICIES}", b"arrears-3"),
    ]
    [change] = audit_rows(store, "policy_change")
    after = orjson.loads(str(change["details"]))["after"]
    assert after["rules"]["wage_arrears"]["thresholds"] == {"red_workers": 3}
    assert client.get("/policies/shadow", headers=FOOD).json()["items"] == []
    # The report of the run stays readable after the shadow ended.
    assert client.get("/policies/shadow/arrears-3/report", headers=FOOD).status_code == 200
