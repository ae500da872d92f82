"""The retry schedules of the sink, the output producer, the case desk and webhook delivery.

Each loop is driven without a broker or a store: the writes, sends and posts fail
on cue, and the waits are recorded instead of slept, so the tests check how often
each thing is tried, how long it waits in between, what is tried again and when
it gives up, in milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from creditbrain.alerts.delivery import RetryPolicy, Subscription
from creditbrain.api.webhooks import Deliverer
from creditbrain.core.errors import StoreError
from creditbrain.streams import cases, output
from creditbrain.streams.output import OutputProducer
from creditbrain.streams.sink import ClickHouseSink


class Recorder:
    """An async sleep that only notes the seconds; ``then`` runs after the n-th wait."""

    def __init__(self, then: dict[int, Any] | None = None) -> None:
        self.waits: list[float] = []
        self.then = then or {}

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        action = self.then.get(len(self.waits))
        if action is not None:
            action()


# --- the sink ------------------------------------------------------------------------------


class FlakyStore:
    """Refuses ``table`` ``failures`` times, then takes everything."""

    def __init__(self, table: str, failures: int) -> None:
        self.table = table
        self.failures = failures
        self.writes: list[str] = []

    def __call__(self, table: str, rows: Sequence[Any], columns: Sequence[str]) -> None:
        self.writes.append(table)
        if table == self.table and self.failures:
            self.failures -= 1
            raise ConnectionError("connection refused")


def _sink(write: FlakyStore, sleep: Recorder) -> ClickHouseSink:
    sink = ClickHouseSink("127.0.0.1:1", "t", write, "g", retry_max_delay=2.0)
    sink._sleep_unless_stopped = sleep  # type: ignore[method-assign]
    return sink


async def test_the_sink_doubles_its_wait_and_does_not_write_a_table_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, sleep = FlakyStore("events", failures=4), Recorder()
    sink = _sink(store, sleep)
    with caplog.at_level(logging.WARNING, logger="creditbrain.streams.sink"):
        done = await sink._write_until_done({"scores": [("a",)], "events": [("b",)], "dlq": []})
    assert done
    assert sleep.waits == [0.5, 1.0, 2.0, 2.0]
    assert store.writes == ["scores", *["events"] * 5]  # scores once; dlq had no rows
    assert sink.stats.failures == 4 and sink.stats.batches == 1
    assert sink.stats.rows == {"scores": 1, "events": 1}
    assert "sink write to events failed (connection refused); retrying in 0.5s" in caplog.text


async def test_a_sink_asked_to_stop_during_an_outage_leaves_the_batch_unwritten() -> None:
    store = FlakyStore("events", failures=100)
    sleep = Recorder()
    sink = _sink(store, sleep)
    sleep.then[2] = sink.stop  # asked to stop during the second wait
    assert not await sink._write_until_done({"events": [("b",)]})
    assert store.writes == ["events"] * 2
    assert sink.stats.batches == 0 and sink.stats.last_flush_at == 0.0


# --- the output producer -------------------------------------------------------------------


class Retriable(Exception):
    retriable = True


class Fatal(Exception):
    retriable = False


class FakeProducer:
    """Fails each send of a value while its budget in ``refusals`` lasts."""

    def __init__(self, refusals: dict[bytes, tuple[int, type[Exception]]]) -> None:
        self.refusals = refusals
        self.sent: list[bytes] = []

    async def send(self, topic: str, **fields: Any) -> asyncio.Future[Any]:
        value: bytes = fields["value"]
        self.sent.append(value)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        left, kind = self.refusals.get(value, (0, Retriable))
        if left:
            self.refusals[value] = (left - 1, kind)
            future.set_exception(kind("not leader"))
        else:
            future.set_result(type("Meta", (), {"partition": 0, "offset": len(self.sent)})())
        return future


def _records(*values: bytes) -> list[Any]:
    return [("t.scores", None, b"k", value, None) for value in values]


async def test_output_sends_again_only_what_was_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    sleep = Recorder()
    monkeypatch.setattr(output, "_pause", sleep)
    producer = FakeProducer({b"b": (2, Retriable)})
    await OutputProducer("127.0.0.1:1", {})._send_all(producer, _records(b"a", b"b"))  # type: ignore[arg-type]
    assert producer.sent == [b"a", b"b", b"b", b"b"]
    assert sleep.waits == [0.5, 1.0]


async def test_output_gives_up_after_eight_tries_or_at_once_on_a_fatal_refusal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleep = Recorder()
    monkeypatch.setattr(output, "_pause", sleep)
    producer = FakeProducer({b"b": (100, Retriable)})
    with pytest.raises(RuntimeError, match="1 outputs not delivered") as raised:
        await OutputProducer("127.0.0.1:1", {})._send_all(producer, _records(b"a", b"b"))  # type: ignore[arg-type]
    assert isinstance(raised.value.__cause__, Retriable)
    assert sleep.waits == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    fatal = FakeProducer({b"a": (1, Fatal)})
    with pytest.raises(RuntimeError, match="Fatal"):
        await OutputProducer("127.0.0.1:1", {})._send_all(fatal, _records(b"a"))  # type: ignore[arg-type]
    assert fatal.sent == [b"a"] and len(sleep.waits) == 7


# --- the case desk -------------------------------------------------------------------------


async def test_the_case_desk_waits_for_its_store_until_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleep = Recorder()
    monkeypatch.setattr(cases, "_pause", sleep)
    runner = cases.CaseDeskRunner(None, "127.0.0.1:1", "t", "g", retry_max_delay=1.0)  # type: ignore[arg-type]
    refusals = [StoreError("store down")] * 3

    def work(batch: Any) -> None:
        if refusals:
            raise refusals.pop()

    assert await runner._until_stored(work, {}) == []
    assert sleep.waits == [0.5, 1.0, 1.0]

    def down(batch: Any) -> None:
        raise StoreError("store down")

    sleep.waits.clear()
    sleep.then = {2: runner.stop}
    assert await runner._until_stored(down, {}) is None
    assert sleep.waits == [0.5, 1.0]


# --- webhook delivery ----------------------------------------------------------------------


def _deliverer(statuses: list[int], sleep: Recorder, policy: RetryPolicy) -> Deliverer:
    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if statuses else 204
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return Deliverer(client, policy, sleep=sleep, clock=lambda: 1_700_000_000.0)


SUB = Subscription("s", "http://hooks.example/in", "whsec_" + "A" * 32)
BODY = b'{"id": "a1:1", "data": {}}'


async def test_a_delivery_retries_errors_and_5xx_on_the_policy_schedule() -> None:
    sleep = Recorder()
    deliverer = _deliverer([0, 503, 429], sleep, RetryPolicy(5, 1.0, 3.0))
    assert await deliverer.deliver(SUB, BODY) == (True, 4, "")
    assert sleep.waits == [1.0, 2.0, 3.0]


async def test_a_delivery_gives_up_on_a_refusal_or_when_the_tries_are_spent() -> None:
    sleep = Recorder()
    assert await _deliverer([503, 404], sleep, RetryPolicy(5, 1.0, 3.0)).deliver(SUB, BODY) == (
        False, 2, "HTTP 404",
    )  # fmt: skip
    assert sleep.waits == [1.0]
    sleep.waits.clear()
    spent = _deliverer([503, 0, 500], sleep, RetryPolicy(3, 0.5, 3.0))
    assert await spent.deliver(SUB, BODY) == (False, 3, "HTTP 500")
    assert sleep.waits == [0.5, 1.0]
    once = _deliverer([0], sleep, RetryPolicy(1))
    delivered, tries, error = await once.deliver(SUB, BODY)
    assert (delivered, tries) == (False, 1) and error.startswith("ConnectError")
