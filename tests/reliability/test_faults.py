"""Faults lose nothing and double nothing: a killed worker, a store and a subscriber down.

- A worker killed twice in the middle of a warnings-heavy stream (``SIGKILL`` at the
  worst moment for its warnings, then ``kill -9`` from outside), restarted each time
  and fed everything again, ends with the same alerts, the same warning transitions
  and the same scores as a run that was never interrupted, and no warning twice on
  the topic.
- The store refusing every write for a minute, while a webhook subscriber is
  unreachable and then answers 500 for the same minute: the worker keeps going, its
  outputs stay on the topics, and once both are back every row is stored exactly once
  and every warning is delivered exactly once, signed.

Everything is real: the embedded broker, chDB, ``creditbrain worker`` / ``serve`` as
child processes, the ClickHouse sink and the webhook dispatcher of
:mod:`creditbrain.runtime` / :mod:`creditbrain.api.server`, an HTTP receiver on
loopback. The store outage is injected at the one boundary the test owns: the
``write`` callable the sink is built with (what ``runtime.build_host`` passes is a
clickhouse-connect insert; here the same insert, refused with ``ConnectionError``
while the outage lasts).
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from creditbrain.alerts.delivery import RetryPolicy, Subscription, verify_signature
from creditbrain.api.server import build_webhook_dispatcher
from creditbrain.api.webhooks import (
    Deliverer,
    StoredSubscription,
    replay_dead_letters,
    save_subscription,
)
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.lag import group_lag
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import (
    DLQ,
    KIND_TO_TOPIC,
    SCORES,
    WARNINGS,
    input_topics,
    topic_name,
    topic_specs,
)
from creditbrain.schemas.events import event_to_json
from creditbrain.schemas.identifiers import credit_code_check_digit, generate_credit_code
from creditbrain.schemas.reference import DISTRICTS
from creditbrain.settings import Settings
from creditbrain.streams.messages import ACCEPTED, ALERTS_LOG, METRIC_DAYS
from creditbrain.streams.sink import ClickHouseSink
from tests.alerts.test_delivery import Receiver
from tests.fixtures.broker import read_topic
from tests.fixtures.serve import CLI, ServeProcess
from tests.strategies import DAY, make_event
from tests.streams.test_stream_integration import expected_scores, produce

pytestmark = pytest.mark.integration

Message = tuple[str, bytes, bytes]
SECTORS = ("food_drug", "construction", "finance", "market_regulation")
OUTAGE_S = 60.0
#: Rules judged on the online models' opinions: close, not identical, across a crash
#: (``streams/models.py``: a restarted worker resumes from a checkpoint).
MODEL_RULES = ("anomalous_deterioration", "predicted_serious_default", "metric_anomaly")
SECRET = "webhook-secret-of-the-fault-test"  # noqa: S105 - a test fixture's key
ONE_TRY = RetryPolicy(attempts=1)  # as POST /subscriptions/{id}/replay tries


# --- input that opens, escalates and resolves many warnings --------------------------------


def _government_code(rng: random.Random, district: str) -> str:
    body = ("11" + generate_credit_code(rng, district)[2:])[:17]
    return body + credit_code_check_digit(body)


def _subject_events(rng: random.Random, index: int) -> list[Any]:
    """One subject's events, all of kinds carried by one topic.

    Alert rules judge a subject's transitions in the order they are seen; Kafka
    orders a key only within one topic's partition, so keeping each subject on one
    topic makes the warnings a function of the input alone, whatever the timing.
    """
    district = rng.choice(sorted(DISTRICTS))
    sector = rng.choice(SECTORS)
    start = rng.randrange(0, 20)
    template = index % 5
    subject_type = "government" if template == 4 else "enterprise"
    subject_id = (
        _government_code(rng, district) if template == 4 else generate_credit_code(rng, district)
    )

    def at(day: int, kind: str, payload: dict[str, Any] | None = None) -> Any:
        return make_event(
            kind,
            payload,
            at=(start + day) * DAY,
            subject_id=subject_id,
            subject_type=subject_type,
            sector=sector,
            district=district,
        )

    if template == 0:  # penalties: first record, burst, downgrades, score drop
        return [
            at(day, "penalty", {"decision_no": f"P-{day}", "severity": severity})
            for day, severity in enumerate(("general", "serious", "general", "serious"))
        ]
    if template == 1:  # arrears: social insurance, wage arrears opened, repeated, worse
        return [
            at(0, "social_insurance_arrears", {"amount_cny": 50_000, "months_overdue": 4}),
            at(1, "wage_arrears", {"amount_cny": 80_000, "workers_affected": 5}),
            at(2, "wage_arrears", {"amount_cny": 90_000, "workers_affected": 6}),
            at(3, "wage_arrears", {"amount_cny": 200_000, "workers_affected": 12}),
        ]
    if template == 2:  # court: judgment, dishonest debtor, consumption restriction
        return [
            at(0, "judgment", {"case_no": "J-1", "role": "defendant"}),
            at(1, "dishonest_debtor", {"case_no": "J-1"}),
            at(2, "consumption_restriction", {"case_no": "J-1"}),
        ]
    if template == 3:  # lists: on, a breach, off again
        return [
            at(0, "list_entry", {"list": "serious_dishonesty", "reason": "r"}),
            at(1, "commitment_breach", {"commitment_no": "C-1"}),
            at(5, "list_exit", {"list": "serious_dishonesty", "reason": "r"}),
        ]
    return [at(0, "dishonest_debtor", {"case_no": "G-1"})]  # a government body


def warning_city(subjects: int, seed: int) -> list[Message]:
    """(topic suffix, key, value) of ``subjects`` subjects, interleaved in event time."""
    rng = random.Random(seed)
    events = [
        (event.occurred_at, n, i, event)
        for n in range(subjects)
        for i, event in enumerate(_subject_events(rng, n))
    ]
    events.sort(key=lambda item: item[:3])
    return [
        (KIND_TO_TOPIC[event.kind], event.subject.id.encode(), event_to_json(event))
        for *_, event in events
    ]


# --- reading what a run left behind ---------------------------------------------------------


@dataclass(frozen=True)
class _Body:
    """A delivered body, shaped like a topic record for :func:`transitions`."""

    value: bytes


def transitions(records: Sequence[Any]) -> Counter[tuple[str, str, str, str, str]]:
    """Warnings on a topic as (alert id, type, level, time, rule), counted."""
    docs = [orjson.loads(record.value) for record in records]
    return Counter(
        (d["alertid"], d["type"], d["data"]["level"], d["time"], d["data"]["rule"]) for d in docs
    )


def by_rules(found: Counter[tuple[str, ...]]) -> Counter[tuple[str, ...]]:
    """Only the warnings of the rules (not of the online models)."""
    return Counter({t: n for t, n in found.items() if t[-1] not in MODEL_RULES})


def stored_outcome(serve: ServeProcess) -> dict[str, object]:
    """What the store holds of one run, read in one child.

    ``alerts``: the rules' alerts (id, subject, rule, level, status, version);
    ``events``: the rules' warning transitions (id, type, level, time); ``scores``: as
    the stream integration test reads them; ``doubled``: subjects with two open alerts
    of one rule.
    """
    alerts, events, states, doubled = serve.query_many(
        [
            "SELECT alert_id, subject_id, rule, level, status, version FROM alerts FINAL",
            "SELECT alert_id, type, level, time, rule FROM alert_events FINAL",
            "SELECT subject_id, score, grade, reasons FROM entity_state FINAL",
            "SELECT subject_id, rule, count() AS n FROM alerts FINAL "
            "WHERE status != 'resolved' GROUP BY subject_id, rule HAVING n > 1",
        ]
    )
    return {
        "alerts": {tuple(row.values()) for row in alerts if row["rule"] not in MODEL_RULES},
        "events": {tuple(row.values())[:4] for row in events if row["rule"] not in MODEL_RULES},
        "scores": {
            str(row["subject_id"]): (
                int(str(row["score"])),
                str(row["grade"]),
                [[r["event_id"], r["kind"], r["effect"]] for r in json.loads(str(row["reasons"]))],
            )
            for row in states
        },
        "doubled": doubled,
    }


def test_a_killed_worker_leaves_the_warnings_of_an_uninterrupted_run(serve_factory) -> None:
    messages = warning_city(1500, seed=5)
    third = len(messages) // 3
    # The worker's warnings are exactly once across crashes; the case desk's overdue
    # notices are at least once (docs/stream.md), tested in tests/streams: left out here.
    without_desk = {"CREDITBRAIN_CASES__DESK": "false"}
    reference, killed = serve_factory(**without_desk), serve_factory(**without_desk)
    reference.start()  # the uninterrupted run, beside the one that is killed
    # First crash: at the worst moment for warnings (tests/reliability/failpoint.py),
    # a batch's warnings on the topic and their subjects' records not written.
    killed.launcher = (sys.executable, "-m", "tests.reliability.failpoint")
    killed.start()
    produce(reference, messages)
    produce(killed, messages[:50])
    killed.wait_until_sunk()  # caught up: from now on its batches write fences
    produce(killed, messages[50:third])
    assert killed.process is not None
    assert killed.process.wait(timeout=120) == -signal.SIGKILL
    killed.launcher = tuple(CLI)
    killed.start()  # recovers its tables from their changelogs
    killed.wait_until_sunk()
    produce(killed, messages[third:])
    time.sleep(0.3)  # second crash, from outside: mid-stream, the rest being processed
    killed.kill()
    # Committed offsets do not move after a kill: work was still outstanding.
    outstanding = group_lag(killed.bootstrap, killed.app_id, input_topics(killed.prefix), True)
    assert outstanding > 0
    killed.start()
    produce(killed, messages)  # and everything again: each event now a duplicate
    killed.wait_until_sunk()
    assert killed.stop() == 0
    reference.wait_until_sunk()
    assert reference.stop() == 0

    after_kill, uninterrupted = stored_outcome(killed), stored_outcome(reference)
    expected = uninterrupted["alerts"]
    assert len(expected) >= 3000, len(expected)  # the input opens many warnings
    assert after_kill["alerts"] == expected
    assert after_kill["events"] == uninterrupted["events"]
    assert after_kill["scores"] == uninterrupted["scores"] == expected_scores(messages)

    # No two open alerts for one subject and rule, in the store ...
    assert after_kill["doubled"] == []
    # ... and on the topic every transition of the reference run, and no other, once.
    everything = transitions(read_topic(killed.bootstrap, killed.topic(WARNINGS)))
    reference_sent = by_rules(
        transitions(read_topic(reference.bootstrap, reference.topic(WARNINGS)))
    )
    sent = by_rules(everything)
    assert set(reference_sent.values()) == {1}
    assert set(sent) == set(reference_sent)
    repeated = {transition: n for transition, n in everything.items() if n > 1}
    assert not repeated, (len(repeated), sum(everything.values()) - len(everything))
    # The warnings the first crash left on the topic were made again and held back.
    held_back = [
        int(line.split("] ")[-1].split()[0])
        for line in killed.log().splitlines()
        if "warnings already on their topics not sent again" in line
    ]
    assert held_back, "the first restart made no warning again: the failpoint proved nothing"
    print(
        f"\nkill -9 under load: {len(messages)} messages (+{len(messages)} replayed, "
        f"{outstanding} uncommitted at the kill), "
        f"{len(expected)} rule alerts, {len(reference_sent)} rule warning transitions "
        f"({len(everything) - len(sent)} more from the models), 0 repeated on the topic, 0 lost; "
        f"{sum(held_back)} warnings made again after the crashes and held back"
    )


# --- the store and a subscriber down for a minute ------------------------------------------


class FlakyStore:
    """The sink's ``write``: the real chDB insert, refused while :attr:`down`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = True
        self.refused = 0

    def write(self, table: str, rows: Any, columns: Any) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("ClickHouse is unreachable (injected outage)")
        self.store.client.insert(
            table, rows, column_names=list(columns), database=self.store.database
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(broker: EmbeddedBroker, data_dir: Path) -> ServeProcess:
    """``creditbrain worker --no-sink`` on fresh topics: the stream alone, no store."""
    tag = uuid.uuid4().hex[:10]
    data_dir.mkdir()
    worker = ServeProcess(broker.bootstrap, data_dir, prefix=f"t{tag}", app_id=f"cb-{tag}")
    ensure_topics(worker.bootstrap, topic_specs(worker.prefix, worker.partitions))
    log = (data_dir / "serve.log").open("ab")
    worker.process = subprocess.Popen(
        [*CLI, "worker", "--no-sink", "--loglevel", "info"],
        env=worker.env,
        stdout=log,
        stderr=log,
    )
    return worker


def _lag(worker: ServeProcess, group: str, topics: list[str]) -> int:
    return group_lag(worker.bootstrap, group, topics, tansu=True)


async def wait_for(what: str, done: Any, timeout: float, worker: ServeProcess) -> None:
    """Poll the blocking ``done()`` in a thread until true."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(done):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {timeout:.0f} s\n{worker.log()[-3000:]}")
        await asyncio.sleep(2.0)  # each look opens three clients: do not crowd the broker


def expected_rows(bootstrap: str, prefix: str) -> dict[str, tuple[int, int]]:
    """(rows written, distinct keys) each table must hold, read from the output topics."""
    accepted = read_topic(bootstrap, topic_name(prefix, ACCEPTED))
    scores = [orjson.loads(r.value) for r in read_topic(bootstrap, topic_name(prefix, SCORES))]
    changes = [orjson.loads(r.value) for r in read_topic(bootstrap, topic_name(prefix, ALERTS_LOG))]
    dead = read_topic(bootstrap, topic_name(prefix, DLQ))
    days = [orjson.loads(r.value) for r in read_topic(bootstrap, topic_name(prefix, METRIC_DAYS))]
    day_keys = {(d["day"], d["sector"], d["district"], d["kind"]) for d in days}
    history = [s for s in scores if s["cause"] != "current"]
    notified = [c["doc"] for c in changes if c["notify"]]
    event_ids = {orjson.loads(r.value)["event_id"] for r in accepted}
    return {
        "events": (len(accepted), len(event_ids)),
        "dlq": (len(dead), len({(r.partition, r.offset) for r in dead})),
        "scores": (len(history), len({(s["subject_id"], s["as_of_ms"], s["event_id"])
                                      for s in history})),
        "entity_state": (len(scores), len({s["subject_id"] for s in scores})),
        "alerts": (len(changes), len({c["doc"]["alertid"] for c in changes})),
        "alert_events": (len(notified),
                         len({(d["alertid"], d["type"], d["time"]) for d in notified})),
        "metric_day_counts": (len(days), len(day_keys)),
        "metric_anomalies": (len(days), len(day_keys)),
    }  # fmt: skip


def latest_versions(bootstrap: str, prefix: str) -> dict[str, dict[str, int]]:
    """The highest version of each subject's state and of each alert, on the topics."""
    latest: dict[str, dict[str, int]] = {"entity_state": {}, "alerts": {}}
    for record in read_topic(bootstrap, topic_name(prefix, SCORES)):
        doc = orjson.loads(record.value)
        states = latest["entity_state"]
        states[doc["subject_id"]] = max(states.get(doc["subject_id"], 0), doc["version"])
    for record in read_topic(bootstrap, topic_name(prefix, ALERTS_LOG)):
        change = orjson.loads(record.value)
        alerts, alert = latest["alerts"], change["doc"]["alertid"]
        alerts[alert] = max(alerts.get(alert, 0), change["version"])
    return latest


def stored_versions(store: Store) -> dict[str, dict[str, int]]:
    """The version of each subject's state and of each alert in the store (FINAL)."""
    states = store.query_rows("SELECT subject_id, version FROM entity_state FINAL")
    alerts = store.query_rows("SELECT alert_id, version FROM alerts FINAL")
    return {
        "entity_state": {str(r["subject_id"]): int(r["version"]) for r in states},  # type: ignore[call-overload]
        "alerts": {str(r["alert_id"]): int(r["version"]) for r in alerts},  # type: ignore[call-overload]
    }


def stored_rows(store: Store) -> dict[str, tuple[int, int]]:
    """(raw row count, rows after FINAL) of each table the sink writes."""
    found = {}
    tables = ("events", "dlq", "scores", "entity_state", "alerts", "alert_events")
    for table in (*tables, "metric_day_counts", "metric_anomalies"):
        raw = store.query_rows(f"SELECT count() AS n FROM {table}")[0]["n"]  # noqa: S608
        final = store.query_rows(f"SELECT count() AS n FROM {table} FINAL")[0]["n"]  # noqa: S608
        found[table] = (int(raw), int(final))  # type: ignore[call-overload]
    return found


async def test_store_and_subscriber_down_for_a_minute_lose_and_double_nothing(
    embedded_broker: EmbeddedBroker, store: Store, chdb_dsn: str, tmp_path: Path
) -> None:
    worker = start_worker(embedded_broker, tmp_path / "worker")
    bootstrap, prefix = worker.bootstrap, worker.prefix
    flaky = FlakyStore(store)
    receiver = Receiver(_free_port())  # not listening yet: connections are refused
    subscription = Subscription("fault-test", receiver.url, SECRET)
    save_subscription(
        store, StoredSubscription(subscription, "regulator-1", "regulator", datetime.now(UTC))
    )
    settings = Settings(
        clickhouse={"dsn": chdb_dsn, "database": store.database},  # type: ignore[arg-type]
        kafka={"topic_prefix": prefix},  # type: ignore[arg-type]
        webhooks={  # type: ignore[arg-type]
            "group_id": f"{worker.app_id}-webhooks",
            "replay_every_s": 5.0,  # the dispatcher re-sends dead letters on its own
            "allow_targets": ["127.0.0.0/8"],  # the subscriber is on loopback
        },
    )
    hooks = build_webhook_dispatcher(settings, bootstrap)
    sink = ClickHouseSink(bootstrap, prefix, flaky.write, f"{worker.app_id}-sink")
    first = warning_city(300, seed=21)
    bad = [("events.penalty", b"k", b"{not json") for _ in range(5)]
    later = warning_city(40, seed=22)

    outage_started = time.monotonic()
    sink_task = asyncio.create_task(sink.run())
    await hooks.start()
    try:
        await asyncio.to_thread(produce, worker, first + bad)
        await wait_for(
            "the worker catching up while the store is down",
            lambda: _lag(worker, worker.app_id, input_topics(prefix)) == 0,
            OUTAGE_S - 15,
            worker,
        )
        # The stream did its work without the store: outputs wait on the topics.
        warned = await asyncio.to_thread(read_topic, bootstrap, topic_name(prefix, WARNINGS))
        assert len(warned) >= 200 and flaky.down and flaky.refused >= 1
        assert stored_rows(store)["events"] == (0, 0)

        await asyncio.sleep(max(0.0, outage_started + OUTAGE_S / 2 - time.monotonic()))
        receiver.statuses = [500] * 100_000  # listening now, but failing
        receiver.start()
        await wait_for(
            "the first dead letter",
            lambda: store.query_rows("SELECT count() AS n FROM webhook_dead_letters")[0]["n"],
            outage_started + OUTAGE_S - 5 - time.monotonic(),
            worker,
        )
        async with httpx.AsyncClient(timeout=10) as client:  # an operator tries a replay
            early = await replay_dead_letters(store, subscription, Deliverer(client, ONE_TRY))
        assert early.delivered == 0 and early.remaining >= 1
        await asyncio.sleep(max(0.0, outage_started + OUTAGE_S - time.monotonic()))
        outage_s = time.monotonic() - outage_started
        refused_writes, refused_posts = flaky.refused, len(receiver.statuses)
        flaky.down = False
        receiver.statuses.clear()  # back: every POST answered 204

        await asyncio.to_thread(produce, worker, later)  # news after the recovery
        sink_topics = [topic_name(prefix, s) for s in (ACCEPTED, DLQ, SCORES, ALERTS_LOG)]
        await wait_for(
            "the worker and the sink catching up",
            lambda: (
                _lag(worker, worker.app_id, input_topics(prefix)) == 0
                and _lag(worker, f"{worker.app_id}-sink", sink_topics) == 0
            ),
            90,
            worker,
        )
        warnings_topic = [topic_name(prefix, WARNINGS)]
        await wait_for(
            "the dispatcher catching up",
            lambda: _lag(worker, hooks.group_id, warnings_topic) == 0,
            90,
            worker,
        )
        # Nobody asks: the dispatcher re-sends what it dead-lettered once the subscriber answers.
        await wait_for(
            "the dispatcher re-sending its dead letters",
            lambda: (
                store.query_rows(
                    "SELECT count() AS n FROM webhook_dead_letters FINAL WHERE replayed_at IS NULL"
                )[0]["n"]
                == 0
            ),
            90,
            worker,
        )
        replayed_n = hooks.replayed
    finally:
        await hooks.stop()
        sink.stop()
        await sink_task
        worker.kill()
        receiver.stop()

    # Every row exactly once. The sink wrote one row per message of each table, no
    # more (a refused write was not half-kept and then repeated), no less ...
    expected = expected_rows(bootstrap, prefix)
    assert dict(sink.stats.rows) == {table: n for table, (n, _) in expected.items()}
    # ... the store holds, after FINAL, one row per distinct key ...
    stored = stored_rows(store)
    assert {t: final for t, (_, final) in stored.items()} == {
        t: keys for t, (_, keys) in expected.items()
    }
    # ... where every message has a key of its own, also without FINAL (background
    # merges collapse the versions of one subject's state or one alert: not counted) ...
    unique_keys = [t for t, (n, keys) in expected.items() if n == keys]
    assert {"events", "dlq", "scores", "alert_events"} <= set(unique_keys)
    assert {t: stored[t][0] for t in unique_keys} == {t: expected[t][0] for t in unique_keys}
    # ... and the latest version of each subject's state and of each alert arrived.
    assert latest_versions(bootstrap, prefix) == stored_versions(store)
    assert expected["dlq"][0] == len(bad)

    # Every warning delivered exactly once, with a valid signature.
    topic = transitions(read_topic(bootstrap, topic_name(prefix, WARNINGS)))
    assert set(topic.values()) == {1}
    delivered = transitions([_Body(body) for body, _ in receiver.received])
    assert delivered == topic
    assert all(verify_signature(SECRET, body, header) for body, header in receiver.received)
    print(
        f"\nstore down {outage_s:.0f} s ({refused_writes} writes refused), subscriber down "
        f"{outage_s:.0f} s (refused, then {100_000 - refused_posts} answers 500): "
        f"{sum(n for n, _ in expected.values())} rows stored once each, "
        f"{len(topic)} warnings delivered once each ({replayed_n} re-sent from dead letters), "
        "0 lost, 0 duplicated"
    )
