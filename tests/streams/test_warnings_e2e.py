"""Warnings end to end: the worker on the embedded broker, the API beside it, an
independent kafka-python consumer reading ``credit.warnings``.

Events built to trigger each default rule must open exactly one warning per
(subject, rule), also when every event is delivered twice; a repeat within the
cooldown only updates, a worse event escalates, a repair resolves; and a
supervisor's threshold change through the API decides the next event of the sector.

The same run carries a shadow policy set beside the live one from the start: its
warnings reach neither warning topic (which the webhooks deliver), its report counts
what a backtest of the same events under each set counts, and promoting it makes
it the live policy, versioned and audited.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import httpx
import orjson
import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka
from cloudevents.core.formats.json import JSONFormat
from kafka import KafkaConsumer, KafkaProducer

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.engine.compare import compare
from creditbrain.infra.lag import group_lag
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import input_topics, topic_for_kind
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.schemas.identifiers import generate_credit_code
from tests.fixtures.serve import ServeProcess
from tests.strategies import DAY, make_event

pytestmark = pytest.mark.integration

SECTOR, DISTRICT = "food_drug", "371102"  # the demo supervisor's scope


def subject_events(subject_id: str, subject_type: str = "enterprise") -> list:
    def at(days: int, kind: str, payload: dict | None = None, **extra):
        return make_event(
            kind,
            payload,
            at=days * DAY,
            subject_id=subject_id,
            subject_type=subject_type,
            sector=SECTOR,
            district=DISTRICT,
            **extra,
        )

    debtor = at(3, "dishonest_debtor", {"case_no": "(2024)鲁1102执1号"})
    return [
        at(0, "penalty", {"decision_no": "P-1", "severity": "general"}),
        at(1, "penalty", {"decision_no": "P-2", "severity": "serious"}),
        at(2, "penalty", {"decision_no": "P-3", "severity": "general"}),
        debtor,
        at(4, "social_insurance_arrears", {"amount_cny": 50_000, "months_overdue": 4}),
        at(5, "wage_arrears", {"amount_cny": 80_000, "workers_affected": 5}),
        at(6, "wage_arrears", {"amount_cny": 90_000, "workers_affected": 6}),  # repeat
        at(7, "wage_arrears", {"amount_cny": 200_000, "workers_affected": 12}),  # worse
        at(8, "list_entry", {"list": "serious_dishonesty", "reason": "x"}),
        at(20, "repair", {"ref_event_id": str(debtor.event_id)}),
    ]


def send(serve: ServeProcess, events: list) -> None:
    producer = KafkaProducer(bootstrap_servers=serve.bootstrap)
    for event in events:
        producer.send(
            topic_for_kind(serve.prefix, event.kind),
            key=event.subject.id.encode(),
            value=event_to_json(event),
        )
    producer.flush()
    producer.close()


def worker_caught_up(serve: ServeProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while group_lag(serve.bootstrap, serve.app_id, input_topics(serve.prefix), tansu=True):
        if time.monotonic() > deadline:
            pytest.fail("the worker did not catch up")
        time.sleep(0.1)


def warning_records(serve: ServeProcess) -> list:
    return topic_records(serve, "warnings")


def topic_records(serve: ServeProcess, suffix: str) -> list:
    consumer = KafkaConsumer(
        serve.topic(suffix),
        bootstrap_servers=serve.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )
    found = list(consumer)
    consumer.close()
    return found


def warnings(serve: ServeProcess) -> list[dict]:
    return [orjson.loads(record.value) for record in warning_records(serve)]


def read_as_cloudevents(records: list) -> list:
    """The records as the CloudEvents SDK's Kafka binding reads them (its own mode detection)."""
    events = []
    for record in records:
        headers = {name: value for name, value in record.headers}
        # Structured mode per the binding: the whole event in the value, said by content-type.
        assert headers["content-type"] == b"application/cloudevents+json"
        assert not any(name.startswith("ce_") for name in headers)
        events.append(from_kafka(KafkaMessage(headers, record.key, record.value), JSONFormat()))
    return events


def wait_for_api(port: int, timeout: float = 60.0) -> str:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code < 500:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail("the API did not come up")


LOWER = {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
SCOPE = f"sector={SECTOR}|district={DISTRICT}"
SUPERVISOR = {"X-API-Key": "demo-supervisor"}


def test_each_rule_opens_once_escalates_resolves_and_follows_live_policy(serve_factory) -> None:
    serve = serve_factory()
    serve.start()
    # A shadow of the red wage-arrears threshold lowered to 3 workers, from the start.
    api = wait_for_api(serve.api_port)
    shadow = {"scope": SCOPE, "override": LOWER, "reason": "try 3 workers in shadow"}
    put = httpx.put(f"{api}/policies/shadow/arrears-3", json=shadow, headers=SUPERVISOR)
    assert put.status_code == 200, put.text
    outside = httpx.put(
        f"{api}/policies/shadow/finance", json=shadow | {"scope": "sector=finance"},
        headers=SUPERVISOR,
    )  # fmt: skip
    assert outside.status_code == 403
    time.sleep(2)  # the worker follows credit.policies.shadow (polls every 0.5 s)
    rng = random.Random(4)
    company = generate_credit_code(rng, DISTRICT)
    agency = "11" + generate_credit_code(rng, DISTRICT)[2:]
    events = subject_events(company)
    events.append(
        make_event(
            "dishonest_debtor",
            {"case_no": "G-1"},
            at=2 * DAY,
            subject_id=_valid(agency),
            subject_type="government",
            sector=SECTOR,
            district=DISTRICT,
        )
    )
    # As department systems report them, in event time; every message delivered twice.
    # (Rules that watch a trajectory, like score_drop, depend on the order a subject's
    # events are seen in, so the test waits for each before sending the next.)
    events_sent = list(events)
    for event in events:
        send(serve, [event, event])
        worker_caught_up(serve)
    serve.wait_until_sunk()

    sent = warnings(serve)
    opened = Counter(
        (w["subject"], w["data"]["rule"]) for w in sent if w["type"].endswith("opened")
    )
    expected_rules = {
        "first_negative_record",
        "penalty_burst",
        "dishonest_debtor_listed",
        "grade_downgrade",
        "score_drop",
        "social_insurance_arrears_3m",
        "wage_arrears",
        "serious_dishonesty_listed",
        "grade_fell_to_D",
    }
    # The case desk beside the worker adds one case_overdue notice per case left alone
    # past its deadline (event time moves on by days here): exactly one, like the rest.
    subject_rules = {rule for (subject, rule) in opened if subject == company}
    assert subject_rules - {"case_overdue"} == expected_rules
    assert "government_dishonest" in {rule for (s, rule) in opened if s != company}
    assert set(opened.values()) == {1}, opened  # exactly one opened warning each
    by_rule = {}
    for w in sent:
        if w["subject"] == company:
            by_rule.setdefault(w["data"]["rule"], []).append(w["type"].rsplit(".", 1)[1])
    assert by_rule["wage_arrears"] == ["opened", "escalated"]  # the repeat only updated
    assert by_rule["dishonest_debtor_listed"] == ["opened", "resolved"]
    wage = [w for w in sent if w["subject"] == company and w["data"]["rule"] == "wage_arrears"]
    assert [w["data"]["level"] for w in wage] == ["orange", "red"]
    assert len({w["alertid"] for w in wage}) == 1  # one alert, stable alert id ...
    assert len({w["id"] for w in wage}) == 2  # ... and each change its own CloudEvents id

    # A CloudEvents consumer (the SDK's Kafka binding) reads every warning, and keeps
    # the escalation and the resolution: their ids differ from the opening's.
    events = read_as_cloudevents(warning_records(serve))
    assert [e.get_id() for e in events] == [w["id"] for w in sent]
    for event, w in zip(events, sent, strict=True):
        data = event.get_data()
        assert isinstance(data, dict)
        assert event.get_source() == "creditbrain/alerts" and event.get_type() == w["type"]
        assert event.get_subject() == data["subject"]["id"] == w["subject"]
        assert event.get_extension("alertid") == data["alert_id"]
        assert event.get_id() == f"{data['alert_id']}:{data['version']}"
        assert event.get_extension("partitionkey") == w["subject"]  # the record key
    seen: set[tuple[str, str]] = set()
    kept = []
    for event in events:  # deduplication by source and id, as CloudEvents prescribes
        if (event.get_source(), event.get_id()) not in seen:
            seen.add((event.get_source(), event.get_id()))
            kept.append(event)
    assert len(kept) == len(events)
    debtor = [e for e in kept if e.get_data()["rule"] == "dishonest_debtor_listed"]  # type: ignore[index]
    assert [e.get_type().rsplit(".", 1)[1] for e in debtor if e.get_subject() == company] == [
        "opened",
        "resolved",
    ]

    # The shadow judged every event (red from 5 workers at once), and none was delivered.
    grid = [orjson.loads(record.value) for record in topic_records(serve, "warnings.grid")]
    for delivered in (sent, grid):
        assert not [  # the shadow's red opening is on no warning topic
            w for w in delivered
            if w["subject"] == company and w["data"]["rule"] == "wage_arrears"
            and w["type"].endswith("opened") and w["data"]["level"] == "red"
        ]  # fmt: skip
    # The report counts what a backtest of the same events counts under each set.
    report = httpx.get(f"{api}/policies/shadow/arrears-3/report", headers=SUPERVISOR)
    assert report.status_code == 200, report.text
    expected = compare(
        [event_to_json(e) for e in events_sent],
        ParseContext(pseudonym_key=b"test-pseudonym-key"),
        DEFAULT_SCORECARD,
        PolicySet(),
        PolicySet().with_override(SCOPE, PolicyOverride.model_validate(LOWER)),
    ).as_dict()
    for side, backtested in (("live", "live"), ("shadow", "candidate")):
        counted = {k: v for k, v in report.json()[side].items() if k != "outcomes"}
        assert counted == {k: v for k, v in expected[backtested].items() if k != "outcomes"}
    live_levels, shadow_levels = (
        report.json()["live"]["by_level"],
        report.json()["shadow"]["by_level"],
    )
    # The arrears open red at once in the shadow: one orange opening fewer, as many reds.
    assert live_levels["orange"] - shadow_levels.get("orange", 0) == 1
    assert live_levels["red"] == shadow_levels["red"]
    listed = httpx.get(f"{api}/policies/shadow", headers=SUPERVISOR).json()["items"]
    assert [s["name"] for s in listed] == ["arrears-3"]

    # The supervisor promotes the shadow: the lowered threshold becomes live, as version 1.
    promoted = httpx.post(
        f"{api}/policies/shadow/arrears-3/promote",
        json={"reason": "wage complaints before the Spring Festival"},
        headers=SUPERVISOR,
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["version"] == 1 and promoted.json()["scope"] == SCOPE
    assert httpx.get(f"{api}/policies/shadow", headers=SUPERVISOR).json()["items"] == []
    change = {"override": LOWER, "reason": "outside the scope"}
    forbidden = httpx.put(f"{api}/policies/sector=finance", json=change, headers=SUPERVISOR)
    assert forbidden.status_code == 403
    time.sleep(2)  # the worker follows credit.policies (polls every 0.5 s)
    other = generate_credit_code(rng, DISTRICT)
    send(
        serve,
        [
            make_event(
                "wage_arrears",
                {"amount_cny": 10_000, "workers_affected": 5},
                at=30 * DAY,
                subject_id=other,
                sector=SECTOR,
                district=DISTRICT,
            )
        ],
    )
    serve.wait_until_sunk()
    late = [w for w in warnings(serve) if w["subject"] == other]
    assert [
        (w["data"]["rule"], w["data"]["level"]) for w in late if w["data"]["rule"] == "wage_arrears"
    ] == [("wage_arrears", "red")]
    assert serve.stop() == 0
    audit = serve.query("SELECT actor, role, details FROM audit WHERE action = 'policy_change'")
    assert len(audit) == 1 and audit[0]["role"] == "supervisor"
    assert "red_workers" in str(audit[0]["details"])
    started = serve.query("SELECT subject_id FROM audit WHERE action = 'shadow_policy'")
    assert [row["subject_id"] for row in started] == [SCOPE]
    # What the shadow did is in shadow_alerts, beside the live changes it compared.
    # (the company's id is a credit code the test generated: nothing to escape)
    shadow_rows = serve.query(
        "SELECT side, rule, level, change, version FROM shadow_alerts FINAL "  # noqa: S608
        f"WHERE subject_id = '{company}' AND rule = 'wage_arrears' ORDER BY side, version"
    )
    assert [(r["side"], r["level"], r["change"]) for r in shadow_rows][:3] == [
        ("live", "orange", "opened"),
        ("live", "orange", "updated"),
        ("live", "red", "escalated"),
    ]
    assert ("shadow", "red", "opened") in {
        (r["side"], r["level"], r["change"]) for r in shadow_rows
    }


def _valid(code: str) -> str:
    """``code`` with its check digits recomputed (a government body's issuer prefix)."""
    from creditbrain.schemas.identifiers import credit_code_check_digit

    return code[:17] + credit_code_check_digit(code[:17])
