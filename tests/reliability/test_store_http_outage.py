"""The ClickHouse server goes away mid-stream: the sink holds its offsets, nothing is lost.

The sink writes over HTTP, through clickhouse-connect's real client, to a loopback
endpoint of :mod:`tests.fixtures.clickhouse_http` (its own, so no other test sees the
outage). Dead letters flow in while the endpoint is stopped, as a server would be:
connections refused, the sink's inserts failing. The sink must not commit what it
could not store; once the endpoint is back on the same port, every message is a
row, once.

The test reads the store through chDB while the HTTP endpoint is down: the endpoint
answers from this process's engine, so the rows it stored are there to count.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.lag import committed_and_ends, partitions_of, sink_topics
from creditbrain.infra.produce import make_producer
from creditbrain.infra.store import Store, connect, migrate
from creditbrain.schemas.contract import DLQ, TopicSpec, topic_name
from creditbrain.streams.sink import ClickHouseSink
from tests.fixtures.store import drop_database, open_endpoint

pytestmark = pytest.mark.integration

BEFORE, DURING, LAST = 200, 300, 50


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def send(bootstrap: str, topic: str, first: int, count: int, flushes: int = 1) -> None:
    """Dead letters ``first`` .. ``first + count - 1``, in ``flushes`` bursts 0.1 s apart."""
    producer = make_producer(bootstrap)
    for n in range(first, first + count):
        producer.send(topic, key=b"k", value=b'{"bad": %d' % n)
        if (n - first + 1) % (count // flushes) == 0:
            producer.flush()
            time.sleep(0.1)
    producer.flush()
    producer.close()


def dead_letters(store: Store) -> tuple[int, int]:
    """(rows, distinct source offsets) of ``dlq``, without FINAL: a duplicate shows."""
    found = store.query_rows("SELECT count() AS n, uniqExact(offset) AS offsets FROM dlq")[0]
    return int(found["n"]), int(found["offsets"])  # type: ignore[call-overload]


async def test_the_sink_holds_its_offsets_while_the_server_is_away(
    embedded_broker: EmbeddedBroker, chdb_dsn: str, fresh_topic: Callable[[str], str]
) -> None:
    bootstrap, prefix = embedded_broker.bootstrap, fresh_topic("outage")
    ensure_topics(bootstrap, [TopicSpec(t, 1) for t in sink_topics(prefix)])
    topic, group = topic_name(prefix, DLQ), f"{prefix}-sink"
    endpoint = open_endpoint(chdb_dsn)
    embedded = connect(chdb_dsn, f"t_{uuid.uuid4().hex}")
    migrate(embedded)  # test_store.py migrates over HTTP; here only the sink's path counts
    over_http = connect(endpoint.dsn, embedded.database)

    def write(table: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        # What runtime.build_host hands the sink: one clickhouse-connect insert.
        over_http.client.insert(
            table, rows, column_names=list(columns), database=over_http.database
        )

    def committed() -> int:
        offsets = committed_and_ends(bootstrap, group, partitions_of(bootstrap, [topic]), True)
        return sum(done for done, _ in offsets.values())

    sink = ClickHouseSink(bootstrap, prefix, write, group, retry_max_delay=0.5)
    task = asyncio.create_task(sink.run())
    try:
        await asyncio.to_thread(send, bootstrap, topic, 0, BEFORE)
        await until(lambda: dead_letters(embedded)[0] == BEFORE, "the first dead letters")
        await until(lambda: committed() == BEFORE, "the first commit")

        # The server goes away while the sink is storing the next bursts; the last one
        # comes only after it has gone.
        sending = asyncio.create_task(
            asyncio.to_thread(send, bootstrap, topic, BEFORE, DURING - LAST, flushes=5)
        )
        await until(lambda: dead_letters(embedded)[0] > BEFORE, "the next dead letters")
        endpoint.stop()
        failures = sink.stats.failures
        await sending
        await asyncio.to_thread(send, bootstrap, topic, BEFORE + DURING - LAST, LAST)
        await until(lambda: sink.stats.failures >= failures + 3, "the sink failing to write")
        # Refused, the sink kept its batch and its offsets: all it committed is stored,
        # and what it could not store is not committed.
        held, _ = dead_letters(embedded)
        assert BEFORE < held < BEFORE + DURING
        assert committed() == held
        assert "Failed to establish a new connection" in sink.stats.last_error

        endpoint.start()  # back on the same port
        await until(lambda: dead_letters(embedded)[0] >= BEFORE + DURING, "the backlog")
        await until(lambda: committed() == BEFORE + DURING, "the commit after the outage")
        assert dead_letters(embedded) == (BEFORE + DURING, BEFORE + DURING)
        assert dead_letters(over_http) == (BEFORE + DURING, BEFORE + DURING)
    finally:
        sink.stop()
        await asyncio.wait_for(task, 30)
        if not endpoint.running:
            endpoint.start()
        drop_database(over_http)
        over_http.close()
        embedded.close()
        endpoint.stop()
