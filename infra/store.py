"""The ClickHouse store: one clickhouse-connect ``Client``, embedded chDB or a server.

Every read and write goes through a clickhouse-connect client; only the DSN
differs between the embedded default and production:

- ``chdb:///abs/path``: chDB, the ClickHouse engine inside this process, on disk;
- ``http(s)://user:pass@host:8123``: a ClickHouse server.

chDB has two rules that shape this module (checked with chdb 4.4):

- **One process per data path.** The engine locks ``PATH/status`` with ``flock``; a
  second process fails with an empty "Error initializing EmbeddedServer" (the
  useful "Cannot lock file" line only reaches stderr). :func:`connect` probes the
  lock itself and raises :class:`StoreLockedError` naming the holder's pid.
- **One data path per process.** Opening another path fails with "EmbeddedServer
  already initialized"; :func:`connect` raises :class:`StoreError` before trying.

The first :func:`connect` to a path keeps one anchor client open for the life of the
process, so the engine (~0.4 s to start) and its lock stay put however many stores
come and go; each :class:`Store` then gets its own client (~20 ms), i.e. its own
chDB connection handle with its own default database. No extra lock is needed:
clickhouse-connect serialises calls per handle, and 12 threads with their own
clients or one shared client (insert + ``FINAL`` query, 150 rounds each, DDL on a
13th) ran without an error or a wrong count.

:func:`~creditbrain.infra.migrate.migrate` is re-exported here because a store is
what its callers hold.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import SplitResult, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from creditbrain.core.errors import ConfigurationError, StoreError, StoreLockedError
from creditbrain.infra.extras import require_embedded
from creditbrain.infra.migrate import migrate

__all__ = ["Store", "connect", "migrate"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Timestamps come back as aware UTC datetimes, like the ones the pipeline writes
#: (clickhouse-connect's default returns naive ones).
_TZ_MODE = "aware"


class Store:
    """A clickhouse-connect client bound to one database.

    Parameters
    ----------
    client
        The clickhouse-connect client (HTTP or chDB); use it directly for anything
        the helpers below do not cover.
    database
        The database every unqualified table name refers to.

    SQL takes values only as server-side bound parameters (``{name:Type}`` in the
    text, values in ``parameters``), so no value is ever spliced into SQL.
    """

    def __init__(self, client: Client, database: str) -> None:
        if not _IDENTIFIER.match(database):
            raise ConfigurationError(f"invalid ClickHouse database name {database!r}")
        self.client = client
        self.database = database

    def database_exists(self) -> bool:
        """Whether the store's database has been created (by :func:`migrate`)."""
        sql = "SELECT count() FROM system.databases WHERE name = {name:String}"
        try:
            found = self.client.command(sql, {"name": self.database}, use_database=False)
        except ClickHouseError as error:
            raise StoreError(f"cannot list the databases: {error}") from error
        return str(found) == "1"

    def bind_database(self) -> None:
        """Make the database the client's default; it must exist (ClickHouse checks)."""
        self.client.database = self.database

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, object]], columns: Sequence[str]
    ) -> None:
        """Insert ``rows`` (one mapping per row, keyed by column) in one INSERT."""
        if not rows:
            return
        data = [[row[column] for column in columns] for row in rows]
        try:
            self.client.insert(table, data, column_names=list(columns), database=self.database)
        except ClickHouseError as error:
            raise StoreError(f"insert into {self.database}.{table} failed: {error}") from error

    def query_rows(
        self,
        sql: str,
        parameters: Mapping[str, object] | None = None,
        settings: Mapping[str, object] | None = None,
    ) -> list[dict[str, object]]:
        """Run a SELECT; each row as a dict keyed by column name."""
        _check_bound(sql, parameters)
        try:
            result = self.client.query(
                sql, parameters=dict(parameters or {}), settings=dict(settings or {})
            )
            return list(result.named_results())
        except ClickHouseError as error:
            raise StoreError(f"query on {self.database} failed: {error}") from error

    def command(
        self,
        sql: str,
        parameters: Mapping[str, object] | None = None,
        *,
        use_database: bool = True,
    ) -> None:
        """Run a statement without a result (DDL, OPTIMIZE, ALTER ...).

        ``use_database=False`` runs it outside the store's database, for statements
        like ``CREATE DATABASE`` that must work before it exists.
        """
        _check_bound(sql, parameters)
        try:
            self.client.command(sql, parameters=dict(parameters or {}), use_database=use_database)
        except ClickHouseError as error:
            raise StoreError(f"statement on {self.database} failed: {error}") from error

    def close(self) -> None:
        """Close this store's client (the embedded engine stays open for the process)."""
        self.client.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _check_bound(sql: str, parameters: Mapping[str, object] | None) -> None:
    """Refuse parameters that are not server-side placeholders (``{name:Type}``).

    clickhouse-connect would otherwise format ``%(name)s`` placeholders client-side.
    """
    for name in parameters or {}:
        if not re.search(r"\{\s*" + re.escape(name) + r"\s*:", sql):
            raise ValueError(f"parameter {name!r} has no {{{name}:Type}} placeholder in the SQL")


def connect(dsn: str, database: str) -> Store:
    """Open the store at ``dsn`` with ``database`` as its default database.

    The database is bound as the client's default when it exists; on a fresh store
    :func:`migrate` creates it and binds it.
    """
    url = urlsplit(dsn)
    if url.scheme == "chdb":
        # clickhouse-connect's chdb:// backend would fail on the import with a bare
        # ModuleNotFoundError; say what to do instead.
        require_embedded(
            "chdb", "CREDITBRAIN_CLICKHOUSE__DSN", "a ClickHouse server (http(s)://host:8123)"
        )
        client = _EMBEDDED.client(_chdb_path(url))
    elif url.scheme in ("http", "https"):
        client = _server_client(url)
    else:
        raise ConfigurationError(
            f"unsupported ClickHouse DSN {_redacted(url)}: use chdb:///abs/path or http(s)://"
        )
    store = Store(client, database)
    if store.database_exists():
        store.bind_database()
    return store


def _chdb_path(url: SplitResult) -> str:
    if url.netloc or not url.path.startswith("/"):
        raise ConfigurationError(
            f"a chDB DSN needs an absolute path (chdb:///abs/path), got {url.geturl()}"
        )
    return os.path.realpath(url.path)


def _redacted(url: SplitResult) -> str:
    if url.password is None:
        return url.geturl()
    netloc = url.netloc.replace(f":{url.password}@", ":***@", 1)
    return urlunsplit(url._replace(netloc=netloc))


def _server_client(url: SplitResult) -> Client:
    # The database comes from connect(); a path in the DSN would make the client
    # require that database before migrate() could create it.
    server = urlunsplit(url._replace(path=""))
    try:
        # One session per client would make concurrent queries from the sink and API
        # threads fail with "session is locked" on the server.
        return clickhouse_connect.get_client(
            dsn=server, autogenerate_session_id=False, tz_mode=_TZ_MODE
        )
    except ClickHouseError as error:
        # A server that answered with an error code was reached: a wrong password or a
        # missing grant must not read as a network problem.
        if getattr(error, "code", None) is not None:
            raise StoreError(
                f"ClickHouse at {_redacted(url)} refused the client: {error}"
            ) from error
        raise StoreError(f"cannot reach ClickHouse at {_redacted(url)}: {error}") from error


class _EmbeddedEngine:
    """The process's one chDB engine: its path and the anchor client that keeps it open."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: str | None = None

    def client(self, path: str) -> Client:
        with self._lock:
            if self._path is None:
                Path(path).mkdir(parents=True, exist_ok=True)
                _raise_if_locked(path)
                try:
                    anchor = _chdb_client(path)
                except StoreError:
                    _raise_if_locked(path)  # it was taken between the probe and the open
                    raise
                atexit.register(anchor.close)
                self._path = path
            elif self._path != path:
                raise StoreError(
                    f"this process already opened the embedded store at {self._path}; "
                    f"chDB allows one data path per process, so {path} cannot be opened too"
                )
        return _chdb_client(path)


def _chdb_client(path: str) -> Client:
    try:
        return clickhouse_connect.get_client(dsn=f"chdb://{path}", tz_mode=_TZ_MODE)
    except ClickHouseError as error:
        raise StoreError(f"cannot open the embedded store at {path}: {error}") from error


def _raise_if_locked(path: str) -> None:
    """Raise :class:`StoreLockedError` when another process holds ``PATH/status``.

    Only valid while this process has not opened the engine: ``flock`` locks belong to
    open files, so our own engine's lock would look like a stranger's.
    """
    status = Path(path) / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreLockedError(
            f"another creditbrain process (probably `creditbrain serve`{_holder(status)}) "
            f"holds the embedded store at {path}; chDB lets one process open it at a time"
        ) from None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(status: Path) -> str:
    """``", pid N"`` from the status file ClickHouse writes, when readable."""
    try:
        first = status.read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return ""
    pid = first.removeprefix("PID:").strip()
    return f", pid {pid}" if first.startswith("PID:") and pid.isdigit() else ""


_EMBEDDED = _EmbeddedEngine()
