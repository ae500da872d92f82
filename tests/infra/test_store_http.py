"""The store over ClickHouse's HTTP interface: what only the HTTP path has.

clickhouse-connect's real HTTP client against the loopback endpoint of
:mod:`tests.fixtures.clickhouse_http`: compressed and chunked bodies both ways, the
user checked, the server's error text reaching the caller, a refused read retried
and a refused insert not, a slow answer timing out. (Everything the store does on
every DSN is in ``test_store.py``.)
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from creditbrain.core.errors import StoreError
from creditbrain.infra.store import Store, connect
from tests.fixtures.clickhouse_http import ClickHouseEndpoint

pytestmark = pytest.mark.integration

AUDIT = ("ts", "actor", "role", "action", "subject_id", "purpose", "details")


def audit_rows(count: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        dict(zip(AUDIT, (now, f"actor-{n}", "admin", "credit_check", "s", "p", "d"), strict=True))
        for n in range(count)
    ]


@pytest.fixture
def http_store(clickhouse_http: ClickHouseEndpoint) -> Iterator[Store]:
    """A store on the endpoint, on the ``default`` database (nothing to migrate)."""
    with connect(clickhouse_http.dsn, "default") as store:
        yield store


@pytest.mark.parametrize("store_dsn", ["http"], indirect=True)
def test_bodies_travel_compressed_and_chunked_both_ways(
    store: Store, clickhouse_http: ClickHouseEndpoint
) -> None:
    before = clickhouse_http.seen.copy()
    store.insert_rows("audit", audit_rows(2000), AUDIT)
    rows = store.query_rows("SELECT actor FROM audit ORDER BY actor LIMIT 2")
    seen = clickhouse_http.seen - before
    assert rows == [{"actor": "actor-0"}, {"actor": "actor-1"}]
    # The insert is streamed: a compressed body of unknown length, sent chunked.
    assert seen["chunked"] >= 1
    assert sum(n for key, n in seen.items() if key.startswith("encoding:")) >= 1
    assert sum(n for key, n in seen.items() if key.startswith("answer-encoding:")) >= 1


def test_a_wrong_password_is_refused_and_not_repeated(clickhouse_http: ClickHouseEndpoint) -> None:
    dsn = clickhouse_http.dsn.replace(f":{clickhouse_http.password}@", ":wrong-secret@")
    with pytest.raises(StoreError, match="AUTHENTICATION_FAILED") as refused:
        connect(dsn, "creditbrain")
    assert "refused" in str(refused.value) and "wrong-secret" not in str(refused.value)
    assert "cannot reach" not in str(refused.value)  # it was reached: the login is wrong


def test_the_servers_error_reaches_the_caller_with_its_code(http_store: Store) -> None:
    with pytest.raises(StoreError, match=r"code: 60, .*UNKNOWN_TABLE"):
        http_store.query_rows("SELECT * FROM no_such_table")


def test_a_refused_read_is_retried_and_a_refused_insert_is_not(
    clickhouse_http: ClickHouseEndpoint,
) -> None:
    with connect(clickhouse_http.dsn, f"t_{uuid.uuid4().hex}") as store:
        store.command("CREATE DATABASE {db:Identifier}", {"db": store.database}, use_database=False)
        store.bind_database()
        try:
            store.command("CREATE TABLE t (n UInt32) ENGINE = MergeTree ORDER BY n")
            refused = clickhouse_http.seen["status:503"]
            clickhouse_http.refuse_next(503)
            assert store.query_rows("SELECT count() AS n FROM t") == [{"n": 0}]
            assert clickhouse_http.seen["status:503"] == refused + 1  # refused once, then retried
            clickhouse_http.refuse_next(503, containing="INSERT")
            with pytest.raises(StoreError, match="503"):
                store.insert_rows("t", [{"n": 1}], ("n",))
            assert store.query_rows("SELECT count() AS n FROM t") == [{"n": 0}]
        finally:
            store.command("DROP DATABASE {db:Identifier}", {"db": store.database})


def test_a_slow_answer_times_out(clickhouse_http: ClickHouseEndpoint) -> None:
    with connect(f"{clickhouse_http.dsn}?send_receive_timeout=1", "default") as store:
        clickhouse_http.delay_s = 2.5
        try:
            with pytest.raises(StoreError, match="timed out"):
                store.query_rows("SELECT 1 AS n")
        finally:
            clickhouse_http.delay_s = 0.0


def test_get_is_read_only_and_ping_answers(clickhouse_http: ClickHouseEndpoint) -> None:
    with urllib.request.urlopen(f"{clickhouse_http.url}/ping", timeout=10) as answer:  # noqa: S310
        assert answer.read() == b"Ok.\n"
    query = "CREATE%20TABLE%20default.g%20(n%20UInt8)%20ENGINE%20%3D%20Memory"
    request = urllib.request.Request(  # noqa: S310  (a loopback http:// URL)
        f"{clickhouse_http.url}/?query={query}",
        headers={"X-ClickHouse-User": clickhouse_http.user,
                 "X-ClickHouse-Key": clickhouse_http.password},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 403
    assert refused.value.headers["X-ClickHouse-Exception-Code"] == "164"
    assert refused.value.read().decode().startswith("Code: 164. DB::Exception:")
