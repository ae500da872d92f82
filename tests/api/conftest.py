"""API test fixtures: the real store, a key per role, a fake policy publisher.

The app is built around the session's chDB store (a fresh database per test, from
``tests/fixtures/store.py``); rows are inserted the way the sinks write them.
"""

from __future__ import annotations

import hashlib
import random
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from creditbrain.api import create_app
from creditbrain.infra.store import Store
from creditbrain.schemas.identifiers import generate_credit_code
from creditbrain.settings import Settings

with warnings.catch_warnings():
    # starlette 1.10 prefers httpx2 for its test client; httpx is what the project pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

#: key -> (name, role, sectors, districts)
KEYS: dict[str, tuple[str, str, list[str], list[str]]] = {
    "k-admin": ("admin-1", "admin", [], []),
    "k-regulator": ("regulator-1", "regulator", [], []),
    "k-food": ("food-supervisor", "supervisor", ["food_drug"], []),
    "k-donggang-build": ("dg-build", "supervisor", ["construction"], ["371102"]),
    "k-leadership": ("mayor-office", "leadership", [], []),
    "k-grid": ("grid-system", "grid", [], []),
    "k-hall": ("hall-window-3", "service_hall", [], []),
}
PSEUDONYM_KEY = "test-pseudonym-key"
NOW = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)


def key_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@dataclass
class FakePublisher:
    """Records what would go to Kafka; ``fail`` makes the next send raise."""

    sent: list[tuple[str, bytes, bytes | None]] = field(default_factory=list)
    fail: Exception | None = None

    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((topic, key, value))


def settings_for_tests(**api: object) -> Settings:
    keys = [
        {"name": name, "role": role, "sectors": sectors, "districts": districts,
         "key_sha256": hashlib.sha256(key.encode()).hexdigest()}
        for key, (name, role, sectors, districts) in KEYS.items()
    ]  # fmt: skip
    # Tests of other things make hundreds of requests with one key: reads and writes
    # are limited only where a test asks (tests/api/test_abuse.py); credit checks keep
    # their defaults, which the tests of checks stay within.
    unlimited = {"reads_per_minute": 1e6, "read_burst": 10**6, "writes_per_minute": 1e6,
                 "write_burst": 10**6, "refused_keys_per_minute": 1e9}  # fmt: skip
    return Settings(
        pseudonym_key=PSEUDONYM_KEY,  # type: ignore[arg-type]
        api={"keys": keys, **unlimited, **api},  # type: ignore[arg-type]
    )


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def make_client(store: Store, publisher: FakePublisher) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**api: object) -> TestClient:
        app = create_app(settings_for_tests(**api), lambda: store, publisher)
        client = TestClient(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


ENTITY_COLUMNS = (
    "subject_id", "subject_type", "subject_name", "sector", "district", "score", "grade",
    "reasons", "records", "last_event_at", "version",
)  # fmt: skip


def add_subject(
    store: Store,
    subject_id: str | None = None,
    *,
    sector: str = "food_drug",
    district: str = "371102",
    score: int = 950,
    grade: str = "A",
    subject_type: str = "enterprise",
    name: str = "日照某某食品有限公司",
    reasons: list[dict[str, object]] | None = None,
) -> str:
    subject_id = subject_id or generate_credit_code(random.Random(uuid.uuid4().int))
    store.insert_rows(
        "entity_state",
        [{"subject_id": subject_id, "subject_type": subject_type, "subject_name": name,
          "sector": sector, "district": district, "score": score, "grade": grade,
          "reasons": orjson.dumps(reasons or []).decode(), "records": len(reasons or []),
          "last_event_at": NOW, "version": 1}],
        ENTITY_COLUMNS,
    )  # fmt: skip
    return subject_id


ALERT_COLUMNS = (
    "alert_id", "subject_id", "subject_type", "subject_name", "sector", "district", "rule",
    "level", "status", "event_type", "score", "grade", "previous_grade", "reasons",
    "first_event_at", "event_time", "acknowledged_by", "acknowledged_at", "version",
)  # fmt: skip


def add_alert(
    store: Store,
    subject_id: str,
    *,
    rule: str = "dishonest_debtor_listed",
    level: str = "red",
    status: str = "open",
    sector: str = "food_drug",
    district: str = "371102",
    subject_type: str = "enterprise",
    name: str = "某公司",
    minutes: int = 0,
) -> str:
    alert_id = uuid.uuid4().hex
    store.insert_rows(
        "alerts",
        [{"alert_id": alert_id, "subject_id": subject_id, "subject_type": subject_type,
          "subject_name": name, "sector": sector, "district": district, "rule": rule,
          "level": level, "status": status, "event_type": "cn.creditbrain.warning.opened",
          "score": 600, "grade": "D", "previous_grade": "C", "reasons": "[]",
          "first_event_at": NOW, "event_time": NOW + timedelta(minutes=minutes),
          "acknowledged_by": "", "acknowledged_at": None, "version": 1}],
        ALERT_COLUMNS,
    )  # fmt: skip
    return alert_id


def audit_rows(store: Store, action: str) -> list[dict[str, object]]:
    return store.query_rows(
        "SELECT actor, role, action, subject_id, purpose, details FROM audit "
        "WHERE action = {a:String} ORDER BY ts",
        {"a": action},
    )
