"""The API under abuse: no public keys unless asked, limits on every route, bodies
capped, resident ids never stored or echoed in clear, every credit-check attempt audited.

Webhook targets are tested in tests/api/test_targets.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditbrain.api.guards import BodyLimit, ErrorBodyScrub
from creditbrain.api.server import build_api_service
from creditbrain.core.errors import ConfigurationError
from creditbrain.infra.store import Store
from creditbrain.runtime.demo import Demo, DemoOptions
from creditbrain.runtime.serve import with_demo_keys
from creditbrain.schemas.identifiers import pseudonymise_person_id
from creditbrain.settings import Settings
from tests.api.conftest import (
    PSEUDONYM_KEY,
    TestClient,
    add_alert,
    add_subject,
    audit_rows,
    key_header,
)

HALL, ADMIN, GRID = key_header("k-hall"), key_header("k-admin"), key_header("k-grid")
REGULATOR = key_header("k-regulator")
#: A valid resident id (GB 11643 check digit) and one whose check digit fails.
PERSON, NOT_AN_ID = "11010519491231002X", "110105194912310021"
PSEUDONYM = pseudonymise_person_id(PERSON, PSEUDONYM_KEY.encode())


def table_text(store: Store, table: str) -> str:
    """Every row of ``table`` as one text, to search for what must not be there."""
    rows = store.query_rows(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
    return orjson.dumps(rows, default=str).decode()


# --- 1. demo keys only when switched on -----------------------------------------------------


def test_no_keys_configured_refuses_to_start_unless_demo_keys_are_switched_on() -> None:
    with pytest.raises(ConfigurationError, match="no API keys configured") as refused:
        build_api_service(Settings(), None, host="127.0.0.1", port=0)
    assert "\n" not in str(refused.value)
    with pytest.raises(ConfigurationError, match="no API keys configured"):
        build_api_service(Settings(api={"demo_keys": False}), None, host="127.0.0.1")  # type: ignore[arg-type]
    # serve on the embedded store switches them on; on a ClickHouse server it does not.
    assert build_api_service(with_demo_keys(Settings()), None, host="127.0.0.1", port=0)
    server = Settings(clickhouse={"dsn": "http://ch:8123/creditbrain"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="no API keys configured"):
        build_api_service(with_demo_keys(server), None, host="127.0.0.1")


def test_the_demo_switches_the_demo_keys_on_unless_keys_or_the_setting_say_otherwise(
    tmp_path: Path,
) -> None:
    def demo(**settings: object) -> Demo:
        return Demo(Settings(data_dir=tmp_path, **settings), DemoOptions(scale=0.001))  # type: ignore[arg-type]

    assert demo().demo_keys
    assert not demo(api={"demo_keys": False}).demo_keys
    keys = [{"name": "n", "role": "admin", "key_sha256": "0" * 64}]
    assert not demo(api={"keys": keys}).demo_keys


@pytest.fixture
def bare_environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    yield {**env, "CREDITBRAIN_DATA_DIR": str(tmp_path / "data")}


def test_creditbrain_api_on_loopback_without_keys_exits_with_one_line(
    bare_environment: dict[str, str], tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "creditbrain.cli", "api", "--host", "127.0.0.1", "--port", "0"],
        env=bare_environment, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: no API keys configured")
    assert done.stderr.count("\n") == 1


# --- 2. limits on every route -----------------------------------------------------------------


def test_a_key_flooding_alert_lists_gets_429_while_other_routes_and_keys_go_on(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    client = make_client(reads_per_minute=60, read_burst=22)  # two lists of 1000 at once
    subject = add_subject(store)
    big = {"limit": 1000}
    codes = [client.get("/alerts", params=big, headers=REGULATOR).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = client.get("/alerts", params=big, headers=REGULATOR)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 11  # 11 tokens at one a second
    # Cheaper reads of the same key wait too: the bucket is the key's, not the query's.
    assert client.get("/alerts", params={"limit": 1}, headers=REGULATOR).status_code == 429
    # Another key reads on; credit checks are a class of their own.
    assert client.get("/alerts", params=big, headers=ADMIN).status_code == 200
    check = client.get(f"/subjects/{subject}", params={"purpose": "loan"}, headers=HALL)
    assert check.status_code == 200
    # The grid's list reads four rows per row shown, and costs that: one list spends it all.
    grid = [client.get("/alerts", params=big, headers=GRID).status_code for _ in range(2)]
    assert grid == [200, 429]
    metrics = client.get("/metrics", headers=ADMIN).text
    assert "creditbrain_rate_limited_read_total 4" in metrics


def test_writes_and_requests_without_a_valid_key_are_limited_too(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    client = make_client(writes_per_minute=1, write_burst=2, refused_keys_per_minute=60)
    alert = add_alert(store, add_subject(store))
    acks = [client.post(f"/alerts/{alert}/ack", json={}, headers=ADMIN) for _ in range(3)]
    assert [ack.status_code for ack in acks] == [200, 200, 429]
    assert "Retry-After" in acks[2].headers
    wrong = [client.get("/alerts", headers={"X-API-Key": "guess"}) for _ in range(11)]
    assert [r.status_code for r in wrong] == [401] * 10 + [429]
    assert "Retry-After" in wrong[-1].headers


def test_a_large_body_is_413_declared_or_chunked(client: TestClient) -> None:
    ten_mb = b'{"url": "https://hooks.example/in", "sectors": ["' + b"a" * 10_000_000 + b'"]}'
    declared = client.post(
        "/subscriptions", content=ten_mb,
        headers={**ADMIN, "Content-Type": "application/json"},
    )  # fmt: skip
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(160):  # 10 MB in 64 KiB chunks, no length declared
            yield b" " * 65536

    chunked = client.post(
        "/subscriptions", content=chunks(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )  # fmt: skip
    assert chunked.status_code == 413


async def test_a_chunked_body_is_refused_at_the_first_chunk_past_the_cap() -> None:
    read: list[int] = []

    async def receive() -> Message:
        read.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:  # a route reading its body to the end
            await receive()

    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    with pytest.raises(HTTPException) as refused:
        await BodyLimit(app, max_bytes=4500)(scope, receive, _no_send)
    assert refused.value.status_code == 413
    assert len(read) == 5  # 5,000 bytes: never more than one chunk past the cap


async def test_error_bodies_are_scrubbed_of_ids_and_others_left_alone() -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    def answering(status: int) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            body = f'{{"detail": "refused {PERSON}{PERSON}"}}'.encode()
            headers = [(b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[:20], "more_body": True})
            await send({"type": "http.response.body", "body": body[20:]})

        return app

    scope: Scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    await ErrorBodyScrub(answering(422), PSEUDONYM_KEY.encode())(scope, _nothing, send)
    body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert PERSON not in body and body.count(PSEUDONYM) == 2
    assert dict(sent[0]["headers"])[b"content-length"] == str(len(body)).encode()
    sent.clear()
    await ErrorBodyScrub(answering(200), PSEUDONYM_KEY.encode())(scope, _nothing, send)
    assert PERSON in b"".join(m.get("body", b"") for m in sent[1:]).decode()


async def _no_send(message: Message) -> None:
    raise AssertionError("nothing is answered here")


async def _nothing() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_lists_in_bodies_are_capped(make_client: Callable[..., TestClient]) -> None:
    # A large cap on bodies, so that the list's own cap is what refuses it.
    client = make_client(max_body_bytes=16 * 1024 * 1024)
    sectors = [f"s{i}" for i in range(200_000)]
    body = {"url": "https://hooks.example/in", "sectors": sectors}
    assert client.post("/subscriptions", json=body, headers=ADMIN).status_code == 422
    body["sectors"] = sectors[:64]
    assert client.post("/subscriptions", json=body, headers=ADMIN).status_code == 201


# --- 2. resident ids in free text ---------------------------------------------------------


def test_ids_in_purposes_notes_and_reasons_are_stored_as_pseudonyms(
    client: TestClient, store: Store
) -> None:
    subject = add_subject(store)
    alert = add_alert(store, subject)
    purpose = f"核查 {PERSON} 的信用, order {NOT_AN_ID}"
    assert client.get(f"/subjects/{subject}", params={"purpose": purpose}, headers=HALL).is_success
    note = f"called {PERSON.lower()}, full-width １１０１０５１９４９１２３１００２Ｘ too"
    assert client.post(f"/alerts/{alert}/ack", json={"note": note}, headers=ADMIN).is_success
    change = {"override": {"rules": {"wage_arrears": {"enabled": False}}}, "reason": PERSON}
    assert client.put("/policies/sector=food_drug", json=change, headers=ADMIN).is_success

    for table in ("audit", "alert_acks"):
        stored = table_text(store, table)
        assert PERSON not in stored and PERSON.lower() not in stored
        assert "１１０１０５" not in stored
        assert PSEUDONYM in stored
    [check] = audit_rows(store, "credit_check")
    assert check["purpose"] == f"核查 {PSEUDONYM} 的信用, order {NOT_AN_ID}"
    [ack] = store.query_rows("SELECT note FROM alert_acks")
    assert ack["note"] == f"called {PSEUDONYM}, full-width {PSEUDONYM} too"


def test_no_error_body_echoes_a_resident_id(client: TestClient, store: Store) -> None:
    subject = add_subject(store)
    alert = add_alert(store, subject)
    too_long = f"{PERSON} " + "x" * 600  # over the purpose's 500 characters: 422
    answers = [
        client.get(f"/subjects/{subject}", params={"purpose": too_long}, headers=HALL),
        client.get(f"/subjects/{PERSON}x", params={"purpose": "p"}, headers=HALL),
        client.get(f"/subjects/{PERSON}", params={"purpose": "p"}, headers=HALL),
        client.post(f"/alerts/{alert}/ack", json={"note": PERSON * 120}, headers=ADMIN),
        client.post("/subscriptions", json={"url": f"ftp://{PERSON}"}, headers=ADMIN),
        client.get(f"/subjects/{PERSON}", params={"purpose": PERSON}, headers=GRID),
    ]
    assert [a.status_code for a in answers] == [422, 422, 404, 422, 422, 403]
    for answer in answers:
        assert PERSON not in answer.text, answer.text


# --- 2. every credit-check attempt audited ------------------------------------------------------


def test_every_credit_check_attempt_leaves_one_audit_row_with_its_outcome(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    client = make_client(credit_checks_per_minute=1, credit_check_burst=3)
    subject = add_subject(store)
    purpose = {"purpose": f"loan of {PERSON}"}
    attempts = [
        client.get(f"/subjects/{subject}", params=purpose, headers={"X-API-Key": "nope"}),
        client.get(f"/subjects/{subject}", params=purpose, headers=GRID),  # role: 403
        client.get(f"/subjects/{subject}", params=purpose, headers=HALL),
        client.get(f"/subjects/{PERSON}", params=purpose, headers=HALL),  # nobody: 404
        client.get("/subjects/not-an-id", params=purpose, headers=HALL),
        client.get(f"/subjects/{subject}", params=purpose, headers=HALL),  # burst spent
    ]
    outcomes = [401, 403, 200, 404, 422, 429]
    assert [a.status_code for a in attempts] == outcomes
    rows = audit_rows(store, "credit_check")
    assert [orjson.loads(str(r["details"]))["outcome"] for r in rows] == outcomes
    assert [(r["actor"], r["role"]) for r in rows] == [
        ("", ""),
        ("grid-system", "grid"),
        *[("hall-window-3", "service_hall")] * 4,
    ]
    assert [r["subject_id"] for r in rows] == [subject, subject, subject, PSEUDONYM, "", subject]
    assert {r["purpose"] for r in rows} == {f"loan of {PSEUDONYM}"}
    assert PERSON not in table_text(store, "audit")
