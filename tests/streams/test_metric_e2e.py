"""City-level warnings end to end: the worker and its sink on the embedded broker.

A sector × district series of penalties with a planted two-day surge goes through
the real worker: the surge opens one ``metric_anomaly`` warning, the warning
resolves once the series is back to its usual level, and the sink fills
``metric_day_counts`` and ``metric_anomalies`` with the day's whole counts.

The one end-to-end test with the store over HTTP (the others run on the embedded
chDB): the sink of the ``serve`` child and the ``db query`` children write and read
through clickhouse-connect's HTTP client, on the test's loopback endpoint, or on a
real server when ``CLICKHOUSE_URL`` is set.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from datetime import timedelta

import orjson
import pytest
from kafka import KafkaConsumer

from creditbrain.core.eventtime import CST
from creditbrain.schemas.identifiers import generate_credit_code
from tests.fixtures.serve import ServeProcess
from tests.fixtures.store import dsn_of
from tests.strategies import DAY, T0, make_event
from tests.streams.test_warnings_e2e import send

pytestmark = pytest.mark.integration

SECTOR, DISTRICT, KIND = "food_drug", "371102", "penalty"
SERIES = f"{SECTOR}|{DISTRICT}|{KIND}"  # CONTRACT.md §2: <sector>|<district>|<kind>
DAYS, SURGE = 56, (40, 41)


def daily_counts(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [40 if day in SURGE else 3 + rng.randrange(3) for day in range(DAYS)]


def series_warnings(serve: ServeProcess) -> list[dict]:
    consumer = KafkaConsumer(
        serve.topic("warnings"),
        bootstrap_servers=serve.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
    )
    found = [orjson.loads(record.value) for record in consumer]
    consumer.close()
    return [w for w in found if w["subject"] == SERIES]


@pytest.mark.parametrize("store_kind", ["http", "server"])
def test_a_surge_warns_once_resolves_and_fills_the_metric_tables(
    serve_factory, store_kind: str, request: pytest.FixtureRequest
) -> None:
    # The child's store is the test's HTTP endpoint (or the real server), a database of its own.
    store = {
        "CREDITBRAIN_CLICKHOUSE__DSN": dsn_of(store_kind, request),
        "CREDITBRAIN_CLICKHOUSE__DATABASE": f"e2e_{uuid.uuid4().hex}",
        # Demo keys come by themselves only with the embedded store.
        "CREDITBRAIN_API__DEMO_KEYS": "true",
    }
    # One partition: the series watch closes a day once a later day's count arrives,
    # so the test feeds the days in order rather than racing partitions.
    serve = serve_factory(partitions=1, **store)
    serve.start()
    rng = random.Random(16)
    subjects = [generate_credit_code(rng, DISTRICT) for _ in range(60)]
    counts = daily_counts(seed=16)
    events = [
        make_event(
            KIND,
            {"decision_no": f"P-{day}-{n}", "severity": "general"},
            # Mid-morning in China Standard Time: the day of the count is ``day``.
            at=day * DAY + timedelta(hours=2, minutes=n),
            subject_id=rng.choice(subjects),
            sector=SECTOR,
            district=DISTRICT,
        )
        for day, count in enumerate(counts)
        for n in range(count)
    ]
    send(serve, events)

    deadline = time.monotonic() + 180
    while not any(w["data"]["status"] == "resolved" for w in series_warnings(serve)):
        if time.monotonic() > deadline or not serve.running:
            pytest.fail(f"no resolved series warning\n{serve.log()[-3000:]}")
        time.sleep(1.0)
    serve.wait_until_sunk()
    sent = series_warnings(serve)
    assert serve.stop() == 0

    # One incident: opened on the first day of the surge, resolved under the same id.
    first_day = (T0 + SURGE[0] * DAY).astimezone(CST).date().isoformat()
    by_id = Counter(w["alertid"] for w in sent)
    assert len(by_id) == 1, sent
    assert len({w["id"] for w in sent}) == len(sent)  # each change its own CloudEvents id
    opened = [w for w in sent if w["data"]["status"] == "open"]
    resolved = [w for w in sent if w["data"]["status"] == "resolved"]
    assert len(opened) == 1 and len(resolved) == 1
    assert opened[0]["data"]["metric"]["day"] == first_day
    assert resolved[0]["data"]["first_event_at"].startswith(first_day)
    assert resolved[0]["data"]["metric"]["day"] > first_day
    stored = serve.query(
        "SELECT status FROM alerts FINAL WHERE subject_type = 'series' AND rule = 'metric_anomaly'"
    )
    assert stored == [{"status": "resolved"}]

    # The whole count of each closed day, once (the last day waits for a later count).
    day_counts = serve.query(
        "SELECT toString(day) AS day, sum(events) AS events FROM metric_day_counts FINAL "
        "WHERE kind = 'penalty' GROUP BY day ORDER BY day"
    )
    days = [(T0 + n * DAY).astimezone(CST).date().isoformat() for n in range(DAYS - 1)]
    assert [r["day"] for r in day_counts] == days
    assert [int(r["events"]) for r in day_counts] == counts[: DAYS - 1]
    scores = serve.query(
        "SELECT toString(day) AS day, value, anomaly_score FROM metric_anomalies FINAL "
        "WHERE kind = 'penalty' ORDER BY day"
    )
    assert [r["day"] for r in scores] == days
    assert [float(r["value"]) for r in scores] == counts[: DAYS - 1]
    top = max(scores, key=lambda r: float(r["anomaly_score"]))
    assert top["day"] == first_day and float(top["anomaly_score"]) >= 0.95
