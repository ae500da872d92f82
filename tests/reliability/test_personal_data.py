"""No clear resident identity number anywhere downstream of ingestion.

One run of ``creditbrain serve`` gets a simulated city (persons and individual
businesses among its subjects, persons' ids in clear as departments send them), the
bad-input corpus (dead letters that carry clear ids, some with the subject's type
broken, some too large to be read) and a few persons built to open warnings routed
to the grid. Then every topic of the run except the six input topics (the worker's
outputs, the dead-letter topic, Faust's changelogs and internal topics, listed with
the admin client), every column of every ClickHouse table and the worker's log are
scanned for any resident-id-shaped token whose check digit holds, and for every
clear id that was sent. Nothing may be found.

The same run checks the grid's copy of warnings: a person's name is masked unless
the policy of the subject's scope reveals it.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from creditbrain.schemas.contract import input_topics, topic_for_kind
from creditbrain.schemas.events import event_to_json
from creditbrain.schemas.identifiers import (
    generate_resident_id,
    is_valid_credit_code,
    is_valid_resident_id,
)
from creditbrain.schemas.warnings import mask_person_name
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from tests.fixtures.broker import read_topic as read_whole_topic
from tests.fixtures.serve import ServeProcess
from tests.reliability.corpus import MIB, build
from tests.strategies import make_event

pytestmark = pytest.mark.integration

#: A resident-id-shaped token: 17 digits and a check character, not part of a longer word
#: and not the fraction of a decimal number (the worker's log prints timer drifts such as
#: ``0.010302882001269609``, and one such fraction in eleven passes the check character).
TOKEN = re.compile(rb"(?<![0-9A-Za-z])(?<![0-9]\.)[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
SCOPE_SECTOR, SCOPE_DISTRICT = "food_drug", "371102"  # the demo supervisor's scope
PERSON_NAMES = ("王小明", "欧阳娜娜", "张伟")


def person_ids_in(tokens: Iterable[bytes], allowed_codes: set[str]) -> set[str]:
    """Tokens that pass the resident-id check and are not a non-person subject's credit code."""
    found = set()
    for token in tokens:
        text = token.decode().upper()
        if is_valid_resident_id(text) and text not in allowed_codes:
            found.add(text)
    return found


def produce(serve: ServeProcess, messages: list[tuple[str, bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=serve.bootstrap, max_request_size=8 * MIB)
    for topic, key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def person_event(serve: ServeProcess, number: str, name: str, sector: str, district: str, day: int):
    event = make_event(
        "dishonest_debtor",
        {"case_no": f"(2025)鲁执{day}号"},
        at=timedelta(days=400 + day),
        subject_id=number,
        subject_type="person",
        name=name,
        sector=sector,
        district=district,
    )
    # make_event pseudonymises with the test key; the wire carries the clear number.
    doc = json.loads(event_to_json(event))
    doc["subject"]["id"] = number
    value = json.dumps(doc, ensure_ascii=False).encode()
    return topic_for_kind(serve.prefix, "dishonest_debtor"), number.encode(), value


def wait_for_override(serve: ServeProcess, headers: dict[str, str], scope: str) -> None:
    """Until the worker's live policy set (what serve's API shows) holds the new override."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = httpx.get(f"http://127.0.0.1:{serve.api_port}/policies", headers=headers)
        if shown.status_code == 200 and scope in shown.json()["overrides"]:
            return
        time.sleep(0.2)
    pytest.fail("the worker never showed the policy change")


def wait_for_api(serve: ServeProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{serve.api_port}/health", timeout=2).status_code:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("the API did not come up")


def run_topics(serve: ServeProcess) -> list[str]:
    """Every topic of this run (its prefix or its app id) except the input topics."""
    admin = KafkaAdminClient(bootstrap_servers=serve.bootstrap)
    try:
        names = admin.list_topics()
    finally:
        admin.close()
    inputs = set(input_topics(serve.prefix))
    return sorted(
        name
        for name in names
        if name.startswith((f"{serve.prefix}.", serve.app_id)) and name not in inputs
    )


def topic_records(serve: ServeProcess, topic: str) -> list[Any]:
    """Every record on ``topic``."""
    return read_whole_topic(serve.bootstrap, topic)


def topic_bytes(serve: ServeProcess, topic: str) -> list[bytes]:
    """Key, value and header values of every record on ``topic``."""
    blobs = []
    for record in topic_records(serve, topic):
        blobs.append(record.key or b"")
        blobs.append(record.value or b"")
        blobs.extend(value for _, value in record.headers)
    return blobs


def warnings_of(serve: ServeProcess, suffix: str) -> list[dict]:
    return [json.loads(r.value) for r in topic_records(serve, serve.topic(suffix)) if r.value]


def test_no_clear_resident_id_downstream_and_the_grid_sees_masked_names(serve_factory) -> None:
    sim = Simulator(CityConfig.scaled(0.02, seed=21, shuffle_window=50), pseudonym_key=b"x")
    city = list(sim.events())
    corpus = build(seed=22, per_category=40)
    persons = [generate_resident_id(random.Random(i), "371102") for i in (1, 2, 3)]
    sent_clear = (
        {e.key.decode() for e in city if e.key and is_valid_resident_id(e.key.decode())}
        | corpus.clear_ids
        | set(persons)
    )
    codes = {e.key.decode() for e in city if e.key and is_valid_credit_code(e.key.decode())}
    assert len(sent_clear) >= 150 and any(b'"individual_business"' in e.value for e in city)

    serve = serve_factory()
    serve.start()
    messages = [(serve.topic(e.topic_suffix), e.key, e.value) for e in city]
    messages += [(serve.topic(m.suffix), m.key, m.value) for m in corpus.messages]
    messages.append(
        person_event(serve, persons[0], PERSON_NAMES[0], SCOPE_SECTOR, SCOPE_DISTRICT, 1)
    )
    produce(serve, messages)
    serve.wait_until_sunk()

    # A supervisor reveals persons' names to the grid for dishonest debtors in the scope.
    wait_for_api(serve)
    headers = {"X-API-Key": "demo-supervisor"}
    scope = f"sector={SCOPE_SECTOR}|district={SCOPE_DISTRICT}"
    change = {
        "override": {"rules": {"dishonest_debtor_listed": {"reveal_person_names": True}}},
        "reason": "grid workers visit listed debtors in person",
    }
    put = httpx.put(
        f"http://127.0.0.1:{serve.api_port}/policies/{scope}", json=change, headers=headers
    )
    assert put.status_code == 200, put.text
    wait_for_override(serve, headers, scope)
    produce(
        serve,
        [
            person_event(serve, persons[1], PERSON_NAMES[1], SCOPE_SECTOR, SCOPE_DISTRICT, 2),
            person_event(serve, persons[2], PERSON_NAMES[2], "finance", "371103", 3),
        ],
    )
    serve.wait_until_sunk()

    # The grid's copy: masked, except where the policy reveals; the full feed has the name.
    pseudonyms = {}
    for warning in warnings_of(serve, "warnings"):
        subject = warning["data"]["subject"]
        if warning["data"]["rule"] == "dishonest_debtor_listed" and subject["name"] in PERSON_NAMES:
            pseudonyms[subject["name"]] = subject["id"]
    assert set(pseudonyms) == set(PERSON_NAMES)
    grid_names = {}
    for warning in warnings_of(serve, "warnings.grid"):
        subject = warning["data"]["subject"]
        if subject["type"] == "person":
            grid_names.setdefault(subject["id"], set()).add(subject["name"])
            if subject["id"] not in pseudonyms.values():
                assert set(subject["name"][1:]) <= {"*"}, subject  # a simulated person: masked
    assert grid_names[pseudonyms[PERSON_NAMES[0]]] == {mask_person_name(PERSON_NAMES[0])}
    assert grid_names[pseudonyms[PERSON_NAMES[1]]] == {PERSON_NAMES[1]}
    assert grid_names[pseudonyms[PERSON_NAMES[2]]] == {mask_person_name(PERSON_NAMES[2])}

    # Every topic of the run.
    topics = run_topics(serve)
    assert serve.topic("events.dlq") in topics and any("changelog" in t for t in topics)
    scanned_bytes = 0
    found_on_topics: dict[str, set[str]] = {}
    for topic in topics:
        blobs = topic_bytes(serve, topic)
        scanned_bytes += sum(len(b) for b in blobs)
        joined = b"\n".join(blobs)
        hits = person_ids_in(TOKEN.findall(joined), codes)
        hits |= {n for n in sent_clear if n.encode() in joined or n.lower().encode() in joined}
        if hits:
            found_on_topics[topic] = hits
    assert not found_on_topics, {t: sorted(h)[:3] for t, h in found_on_topics.items()}

    assert serve.stop() == 0
    log = serve.log().encode()
    assert not person_ids_in(TOKEN.findall(log), codes)
    assert not [n for n in sent_clear if n.encode() in log or n.lower().encode() in log]

    # Every column of every table.
    tables = [
        str(row["name"])
        for row in serve.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    ]
    assert {"events", "dlq", "scores", "entity_state", "alerts", "audit"} <= set(tables)
    stored_bytes = 0
    found_in_tables: dict[str, set[str]] = {}
    contents = serve.query_many([f"SELECT * FROM `{table}`" for table in tables])  # noqa: S608
    for table, rows in zip(tables, contents, strict=True):
        text = json.dumps(rows, ensure_ascii=False).encode()
        stored_bytes += len(text)
        hits = person_ids_in(TOKEN.findall(text), codes)
        hits |= {n for n in sent_clear if n.encode() in text or n.lower().encode() in text}
        if hits:
            found_in_tables[table] = hits
    assert not found_in_tables, {t: sorted(h)[:3] for t, h in found_in_tables.items()}
    print(
        f"personal-data scan: {len(sent_clear)} clear ids sent; {len(topics)} topics "
        f"({scanned_bytes:,} bytes), {len(tables)} tables ({stored_bytes:,} bytes as JSON), "
        f"log {len(log):,} bytes; clear ids found: 0"
    )
