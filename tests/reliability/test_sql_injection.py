"""Hostile strings are data: every API field and every stream field that reaches SQL.

Every SQL statement the project builds takes values as server-side bound parameters
(``{name:Type}``; :meth:`creditbrain.infra.store.Store.query_rows` refuses any other
kind). These tests send :data:`~tests.reliability.corpus.HOSTILE_STRINGS` (quotes,
backslashes, ``'; DROP TABLE``, ``{placeholders}``, ``%s``, NUL, bidi and astral
unicode) through every API field that ends in a query or an insert, and through the
running stream into every table the sink writes; each must come back byte-identical,
and the schema (tables and their definitions) must be exactly what it was.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from kafka import KafkaProducer

from creditbrain.core.errors import ConfigurationError
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import topic_for_kind
from creditbrain.schemas.events import event_to_json
from creditbrain.schemas.identifiers import generate_credit_code
from tests.api.conftest import NOW, TestClient, add_alert, add_subject, audit_rows, key_header
from tests.reliability.corpus import HOSTILE_STRINGS
from tests.strategies import make_event

ADMIN = key_header("k-admin")


def path(text: str) -> str:
    """``text`` as one path segment (percent-encoded, as any HTTP client must send it)."""
    return quote(text, safe="")


def schema(store: Store) -> list[tuple[str, str]]:
    """Every table of the store's database with its definition."""
    rows = store.query_rows(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String} "
        "ORDER BY name",
        {"db": store.database},
    )
    return [(str(r["name"]), str(r["create_table_query"])) for r in rows]


def test_alert_filters_and_acknowledgement_notes_are_bound(
    client: TestClient, store: Store
) -> None:
    before = schema(store)
    targets = {
        text: add_alert(store, "S", sector=text, district=text[:16], rule=text)
        for text in HOSTILE_STRINGS
    }
    for text, alert_id in targets.items():
        for name, value in (("sector", text), ("district", text[:16]), ("rule", text)):
            got = client.get("/alerts", params={name: value}, headers=ADMIN)
            assert got.status_code == 200, (name, value, got.text)
            assert alert_id in {a["alert_id"] for a in got.json()["items"]}, (name, value)
            matched = [a for a in got.json()["items"] if a["alert_id"] == alert_id][0]
            assert matched[name] == value
        acked = client.post(f"/alerts/{alert_id}/ack", json={"note": text}, headers=ADMIN)
        assert acked.status_code == 200, acked.text
    notes = store.query_rows(
        "SELECT alert_id, note FROM alert_acks FINAL WHERE alert_id IN {ids:Array(String)}",
        {"ids": list(targets.values())},
    )
    assert {str(r["alert_id"]): str(r["note"]) for r in notes} == {
        alert_id: text for text, alert_id in targets.items()
    }
    audited = [json.loads(str(r["details"]))["note"] for r in audit_rows(store, "alert_ack")]
    assert sorted(audited) == sorted(HOSTILE_STRINGS)
    for text in HOSTILE_STRINGS:
        missing = client.post(f"/alerts/{path(text)}/ack", json={"note": "n"}, headers=ADMIN)
        assert missing.status_code in (404, 422), (text, missing.status_code)
    assert schema(store) == before


def test_credit_check_subject_ids_and_purposes_are_bound(make_client, store: Store) -> None:
    client = make_client(credit_check_burst=1000)
    before = schema(store)
    subject = add_subject(store)
    hall = key_header("k-hall")
    for text in HOSTILE_STRINGS:
        asked = client.get(f"/subjects/{path(text)}", params={"purpose": "p"}, headers=hall)
        assert asked.status_code in (404, 422), (text, asked.status_code)
        checked = client.get(f"/subjects/{subject}", params={"purpose": text}, headers=hall)
        assert checked.status_code == 200, (text, checked.text)
    purposes = [str(r["purpose"]) for r in audit_rows(store, "credit_check")]
    assert [p for p in purposes if p != "p"] == list(HOSTILE_STRINGS)
    assert store.query_rows("SELECT count() AS n FROM entity_state")[0]["n"] == 1
    assert schema(store) == before


def test_policy_reasons_and_scopes_are_bound(client: TestClient, store: Store) -> None:
    before = schema(store)
    body = {"override": {"rules": {"wage_arrears": {"level": "red"}}}}
    for text in HOSTILE_STRINGS:
        reason = text if text.strip() else "r" + text
        put = client.put("/policies/sector=finance", json={**body, "reason": reason}, headers=ADMIN)
        assert put.status_code == 200, (text, put.text)
        removed = client.delete(
            "/policies/sector=finance", params={"reason": reason}, headers=ADMIN
        )
        assert removed.status_code == 200, (text, removed.text)
        odd = client.put(f"/policies/{path(text)}", json={**body, "reason": "r"}, headers=ADMIN)
        assert odd.status_code in (404, 422), (text, odd.status_code)
    purposes = [str(r["purpose"]) for r in audit_rows(store, "policy_change")]
    expected = [t if t.strip() else "r" + t for t in HOSTILE_STRINGS for _ in (0, 1)]
    assert purposes == expected
    assert schema(store) == before


def test_subscription_urls_and_filters_are_bound(client: TestClient, store: Store) -> None:
    before = schema(store)
    made = {}
    for i, text in enumerate(HOSTILE_STRINGS):
        url = "https://hooks.example/" + "".join(c for c in text if not c.isspace()) + f"/{i}"
        request = {"url": url, "sectors": [text[:64]], "districts": [text[:16]]}
        created = client.post("/subscriptions", json=request, headers=ADMIN)
        assert created.status_code == 201, (text, created.text)
        made[created.json()["id"]] = request
    listed = {s["id"]: s for s in client.get("/subscriptions", headers=ADMIN).json()["items"]}
    for sub_id, request in made.items():
        shown = listed[sub_id]
        assert (shown["url"], shown["sectors"], shown["districts"]) == (
            request["url"],
            request["sectors"],
            request["districts"],
        )
    for text in HOSTILE_STRINGS:
        gone = client.delete(f"/subscriptions/{path(text)}", headers=ADMIN)
        assert gone.status_code in (404, 422), (text, gone.status_code)
    assert len(client.get("/subscriptions", headers=ADMIN).json()["items"]) == len(HOSTILE_STRINGS)
    assert schema(store) == before


def test_the_store_refuses_client_side_formatting_and_dashboards_refuse_odd_values(
    store: Store,
) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        store.query_rows("SELECT %(x)s AS x", {"x": "'; DROP TABLE events; --"})
    for text in HOSTILE_STRINGS:
        got = store.query_rows("SELECT {x:String} AS x", {"x": text})
        assert got == [{"x": text}]
    window = TimeWindow(NOW - timedelta(days=1), NOW, 3600)
    # Dashboard variables are spliced as text (as Grafana does), so only inert words pass.
    for text in HOSTILE_STRINGS:
        if set(text) & set("'\"\\;{}()%$ \t\n\x00<>\u202e"):
            with pytest.raises(ConfigurationError):
                expand("SELECT 1 WHERE sector = '${sector}'", window, {"sector": text})
        else:
            sql = expand("SELECT 1 WHERE sector = '${sector}'", window, {"sector": text})
            assert sql == f"SELECT 1 WHERE sector = '{text}'"


# --- through the running stream -------------------------------------------------------------


@pytest.mark.integration
def test_hostile_strings_through_the_stream_come_back_byte_identical(serve_factory) -> None:
    serve = serve_factory(partitions=2)
    sent = {}
    messages = []
    for i, text in enumerate(HOSTILE_STRINGS):
        code = generate_credit_code(random.Random(900 + i), "371102")
        source = text if text.strip() else "s" + text
        event = make_event(
            "dishonest_debtor",
            {"case_no": text if text.strip() else "c" + text, "court": text},
            at=timedelta(days=i),
            subject_id=code,
            name=text,
        )
        doc = json.loads(event_to_json(event))
        doc["source"] = source
        value = json.dumps(doc, ensure_ascii=False).encode()
        sent[code] = (text, source, doc["payload"])
        messages.append((topic_for_kind(serve.prefix, "dishonest_debtor"), code, value))
        bad = dict(doc, sector=text, event_id=str(uuid.uuid4()))
        messages.append(
            (serve.topic("events.judgment"), code, json.dumps(bad, ensure_ascii=False).encode())
        )
    producer = KafkaProducer(bootstrap_servers=serve.bootstrap)
    for topic, key, value in messages:
        producer.send(topic, key=key.encode(), value=value)
    producer.flush()
    producer.close()
    serve.start()
    serve.wait_until_sunk()
    assert serve.stop() == 0

    events, states, alerts, dead, tables = serve.query_many(
        [
            "SELECT subject_id, subject_name, source, payload FROM events FINAL",
            "SELECT subject_id, subject_name FROM entity_state FINAL",
            "SELECT subject_id, subject_name FROM alerts FINAL",
            "SELECT reason, raw FROM dlq FINAL",
            "SELECT name FROM system.tables WHERE database = currentDatabase()",
        ]
    )
    assert {
        str(r["subject_id"]): (
            str(r["subject_name"]),
            str(r["source"]),
            json.loads(str(r["payload"])),
        )
        for r in events
    } == {code: (name, source, payload) for code, (name, source, payload) in sent.items()}
    assert {str(r["subject_id"]): str(r["subject_name"]) for r in states} == {
        code: name for code, (name, _, _) in sent.items()
    }
    assert {str(r["subject_id"]): str(r["subject_name"]) for r in alerts} == {
        code: name for code, (name, _, _) in sent.items()
    }
    assert len(dead) == len(HOSTILE_STRINGS)
    assert {json.loads(str(r["raw"]))["sector"] for r in dead} == set(HOSTILE_STRINGS)
    assert {"events", "dlq", "scores", "entity_state", "alerts", "audit"} <= {
        str(r["name"]) for r in tables
    }
