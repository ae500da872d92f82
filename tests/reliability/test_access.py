"""Access control: every route behind a key, purposes stated, secrets kept out of sight.

Role and scope rules per route, rate limits and audit contents are tested route by
route in ``tests/api/``; this module adds what holds across the whole API:

- the app's routes are enumerated, so a route added without authentication fails
  here without anyone remembering to list it;
- a purpose or reason made only of blanks is no purpose;
- API keys are configured and compared as SHA-256 only, and settings dump secrets masked;
- a real ``creditbrain serve`` at debug log level, given known secrets and exercised
  (credit checks, wrong keys, a policy change, a webhook subscription delivering
  signed warnings), writes none of them to its log, its audit table or any other
  table but the one that must hold the webhook secret to sign with.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import re
import signal
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pydantic
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from creditbrain.alerts.delivery import verify_signature
from creditbrain.api import create_app
from creditbrain.api.auth import Allow, KeyRing, authenticated
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import topic_specs
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.settings import Settings
from tests.alerts.test_delivery import Receiver
from tests.api.conftest import FakePublisher, add_subject, audit_rows, settings_for_tests
from tests.fixtures.serve import CLI, ServeProcess, _free_port
from tests.streams.test_warnings_e2e import DISTRICT, SECTOR, send, subject_events, wait_for_api

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

#: Routes anyone may call: the health probe, and the API's own description.
PUBLIC_ROUTES = {"/health"}
DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _needs_a_key(dependant: object) -> bool:
    """Whether ``authenticated`` is somewhere in a route's dependency tree."""
    for sub in getattr(dependant, "dependencies", ()):
        if sub.call is authenticated or isinstance(sub.call, Allow) or _needs_a_key(sub):
            return True
    return False


def _concrete(path: str) -> str:
    """The route's path with every parameter filled in."""
    return re.sub(r"\{[^}]+\}", "x", path)


def routes(app: FastAPI) -> list[tuple[str, str, BaseRoute]]:
    """(method, path, route as declared) of every route the app serves, routers included."""
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted(context.methods or ()):
            found.append((method, str(context.path), context.original_route))
    return found


def unguarded_routes(app: FastAPI, client: TestClient) -> list[str]:
    """``METHOD path`` of every route outside the public lists that answers without a key."""
    found = []
    for method, path, route in routes(app):
        if path in PUBLIC_ROUTES or (path in DOCUMENTATION and not isinstance(route, APIRoute)):
            continue
        statically = isinstance(route, APIRoute) and _needs_a_key(route.dependant)
        codes = {
            client.request(method, _concrete(path), headers=headers).status_code
            for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer x"})
        }
        if not statically or codes != {401}:
            found.append(f"{method} {path}")
    return found


@pytest.fixture
def app(store: Store) -> FastAPI:
    return create_app(settings_for_tests(), lambda: store, FakePublisher())


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def test_every_route_but_health_and_the_docs_needs_a_valid_key(
    app: FastAPI, client: TestClient
) -> None:
    declared = {(m, p) for m, p, route in routes(app) if isinstance(route, APIRoute)}
    assert {("GET", "/subjects/{subject_id}"), ("PUT", "/policies/{scope}"),
            ("POST", "/subscriptions/{subscription_id}/replay")} <= declared  # fmt: skip
    assert unguarded_routes(app, client) == []
    assert client.get("/health").status_code == 200


def test_a_route_added_without_a_key_is_caught(app: FastAPI, client: TestClient) -> None:
    @app.get("/subjects/{subject_id}/export")
    def export(subject_id: str) -> dict[str, str]:
        return {"subject_id": subject_id}

    @app.get("/alerts/count")
    def count(_: object = Depends(lambda: None)) -> int:
        return 0

    assert unguarded_routes(app, client) == [
        "GET /subjects/{subject_id}/export",
        "GET /alerts/count",
    ]


def test_a_blank_purpose_or_reason_is_refused_and_audited_as_refused(
    client: TestClient, store: Store
) -> None:
    subject = add_subject(store)
    hall, admin = {"X-API-Key": "k-hall"}, {"X-API-Key": "k-admin"}
    for purpose in (" ", "\t\n", "\u3000"):
        response = client.get(f"/subjects/{subject}", params={"purpose": purpose}, headers=hall)
        assert response.status_code == 422, purpose
    body = {"override": {"rules": {"wage_arrears": {"enabled": False}}}, "reason": "  "}
    assert client.put("/policies/sector=food_drug", json=body, headers=admin).status_code == 422
    deleted = client.delete("/policies/sector=food_drug", params={"reason": " "}, headers=admin)
    assert deleted.status_code == 422
    # Each refused check is an attempt, audited with its outcome; no policy changed.
    refused = [orjson.loads(str(row["details"])) for row in audit_rows(store, "credit_check")]
    assert refused == [{"outcome": 422}] * 3
    assert audit_rows(store, "policy_change") == []
    assert client.get(f"/subjects/{subject}", params={"purpose": "loan"}, headers=hall).is_success


def test_api_keys_are_held_as_hashes_and_settings_dump_secrets_masked() -> None:
    clear = f"clear-key-{uuid.uuid4().hex}"
    with pytest.raises(pydantic.ValidationError):  # a clear key is not a setting
        Settings(api={"keys": [{"name": "n", "role": "admin", "key": clear}]})  # type: ignore[arg-type]
    settings = Settings(
        pseudonym_key=f"pseudonym-{clear}",  # type: ignore[arg-type]
        api={"keys": [{"name": "n", "role": "admin",  # type: ignore[arg-type]
                       "key_sha256": hashlib.sha256(clear.encode()).hexdigest()}]},
        clickhouse={"dsn": f"https://creditbrain:{clear}@ch:8443"},  # type: ignore[arg-type]
    )  # fmt: skip
    assert settings.clickhouse_dsn == f"https://creditbrain:{clear}@ch:8443"  # used, not shown
    ring = KeyRing.from_settings(settings)
    assert ring.find(clear) is not None and ring.find(clear + "x") is None
    assert clear.encode() not in pickle.dumps(ring)
    for shown in (json.dumps(settings.redacted()), repr(settings), str(settings)):
        assert clear not in shown


# --- a real serve at debug level, with known secrets ------------------------------------------


def _debug_serve(broker: EmbeddedBroker, data_dir: Path, env: dict[str, str]) -> ServeProcess:
    tag = uuid.uuid4().hex[:10]
    data_dir.mkdir()
    serve = ServeProcess(
        broker.bootstrap, data_dir, prefix=f"t{tag}", app_id=f"cb-{tag}", extra_env=env
    )
    ensure_topics(serve.bootstrap, topic_specs(serve.prefix, serve.partitions))
    log = (data_dir / "serve.log").open("ab")
    serve.process = subprocess.Popen(
        [*CLI, "serve", "--loglevel", "debug"], env=serve.env, stdout=log, stderr=log
    )
    return serve


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _table_dumps(serve: ServeProcess, tables: list[str]) -> dict[str, str]:
    """Every row of every table, as text, in one query (a table -> its rows)."""
    union = " UNION ALL ".join(
        f"SELECT '{table}' AS t, formatRow('TSV', *) AS r FROM `{table}`"  # noqa: S608 - names from system.tables
        for table in tables
    )
    dumps = dict.fromkeys(tables, "")
    for row in serve.query(union):
        dumps[str(row["t"])] += str(row["r"])
    return dumps


@pytest.mark.integration
def test_serve_at_debug_level_logs_and_stores_no_secret(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex
    admin_key, hall_key = f"admin-key-{token}", f"hall-key-{token}"
    supervisor_key = f"supervisor-key-{token}"
    webhook_secret, pseudonym_key = f"webhook-secret-{token}", f"pseudonym-key-{token}"
    keys = [
        {"name": "admin-1", "role": "admin", "key_sha256": _sha256(admin_key)},
        {"name": "hall-1", "role": "service_hall", "key_sha256": _sha256(hall_key)},
        {"name": "food-1", "role": "supervisor", "sectors": [SECTOR], "districts": [DISTRICT],
         "key_sha256": _sha256(supervisor_key)},
    ]  # fmt: skip
    receiver = Receiver(_free_port())
    receiver.start()
    serve = _debug_serve(
        embedded_broker,
        tmp_path / "serve",
        {
            "CREDITBRAIN_API__KEYS": json.dumps(keys),
            "CREDITBRAIN_PSEUDONYM_KEY": pseudonym_key,
            "CREDITBRAIN_WEBHOOKS__REFRESH_S": "0.5",
            # The receiver is on loopback, which webhooks reach only when allowed.
            "CREDITBRAIN_WEBHOOKS__ALLOW_TARGETS": '["127.0.0.0/8"]',
        },
    )
    try:
        api = wait_for_api(serve.api_port)
        admin, hall = {"X-API-Key": admin_key}, {"Authorization": f"Bearer {hall_key}"}
        created = httpx.post(
            f"{api}/subscriptions",
            json={"url": receiver.url, "secret": webhook_secret},
            headers=admin,
        )
        assert created.status_code == 201 and webhook_secret not in created.text
        listed = httpx.get(f"{api}/subscriptions", headers=admin)
        assert listed.status_code == 200 and webhook_secret not in listed.text
        time.sleep(1.0)  # the dispatcher reloads its subscriptions

        company = generate_credit_code(random.Random(token), DISTRICT)
        send(serve, subject_events(company))
        serve.wait_until_sunk()
        for _ in range(60):  # signed deliveries prove the secret was used
            if len(receiver.received) >= 3:
                break
            time.sleep(0.5)
        assert len(receiver.received) >= 3
        assert all(verify_signature(webhook_secret, b, h) for b, h in receiver.received)

        check = {"purpose": "loan application"}
        assert httpx.get(f"{api}/subjects/{company}", params=check, headers=hall).is_success
        assert httpx.get(f"{api}/subjects/{company}", params=check,
                         headers={"X-API-Key": supervisor_key}).is_success  # fmt: skip
        person = "11010519491231002X"
        httpx.get(f"{api}/subjects/{person}", params=check, headers=hall)
        for wrong in (admin_key + "x", admin_key[:-1], hall_key.upper()):
            refused = httpx.get(f"{api}/alerts", headers={"X-API-Key": wrong})
            assert refused.status_code == 401 and wrong not in refused.text
        change = {"override": {"rules": {"wage_arrears": {"enabled": False}}}, "reason": "test"}
        assert httpx.put(
            f"{api}/policies/sector={SECTOR}|district={DISTRICT}",
            json=change,
            headers={"X-API-Key": supervisor_key},
        ).is_success
        assert httpx.get(f"{api}/metrics", headers=admin).is_success
    finally:
        assert serve.process is not None
        serve.process.send_signal(signal.SIGINT)
        try:
            serve.process.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
        receiver.stop()

    log = serve.log()
    assert "DEBUG" in log  # the debug level really was on
    secrets = {
        "admin key": admin_key,
        "service hall key": hall_key,
        "supervisor key": supervisor_key,
        "webhook secret": webhook_secret,
        "pseudonym key": pseudonym_key,
    }
    assert {name for name, value in secrets.items() if value in log} == set()
    assert {"credit_check", "policy_change", "subscription_create"} <= {
        row["action"] for row in serve.query("SELECT DISTINCT action FROM audit")
    }
    tables = [
        str(row["name"])
        for row in serve.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    ]
    assert {"audit", "webhook_subscriptions", "events", "alerts"} <= set(tables)
    dumps = _table_dumps(serve, tables)
    assert "hall-1" in dumps["audit"] and "loan application" in dumps["audit"]
    leaks = {
        (table, name)
        for table in tables
        for name, value in secrets.items()
        if value in dumps[table]
    }
    # The webhook secret is kept where it signs from, in clear by necessity; nowhere else.
    assert leaks == {("webhook_subscriptions", "webhook secret")}
    print(
        f"\nsecret scan: {len(secrets)} secrets, serve log of {len(log.splitlines())} lines at "
        f"debug level, {len(tables)} tables ({sum(len(d) for d in dumps.values())} characters), "
        f"{len(receiver.received)} signed deliveries: found only the webhook secret, in "
        "webhook_subscriptions"
    )
