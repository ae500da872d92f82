"""Schema migrations: numbered SQL files, applied once, in order, to any ClickHouse.

The files live in ``infra/migrations/NNNN_name.sql`` (package data). A file may
hold several statements, each ending with ``;`` at the end of a line. Files are
written once for every deployment and rendered with three placeholders:

``{database}``
    the store's database, quoted;
``{on_cluster}``
    empty, or `` ON CLUSTER `name` `` on a ClickHouse cluster (put it right after
    the table name);
``{replicated}``
    empty, or ``Replicated`` in front of an engine name (``{replicated}MergeTree``).
    The replicated engines then take no path arguments, so the server's
    ``default_replica_path`` / ``default_replica_name`` apply.

:func:`migrate` records each applied file with its checksum in
``schema_migrations``; running it again applies nothing, and a file edited after it
was applied is an error rather than a silent drift. Statements use
``IF NOT EXISTS``, so a file that failed halfway can simply be applied again.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from creditbrain.errors import StoreError

if TYPE_CHECKING:
    from creditbrain.infra.store import Store

__all__ = [
    "AppliedMigration",
    "Migration",
    "applied_migrations",
    "available_migrations",
    "migrate",
    "render_migration",
    "split_statements",
]

_NAME = re.compile(r"^\d{4}_[a-z0-9_]+$")
_PLACEHOLDER = re.compile(r"\{(database|on_cluster|replicated)\}")
_STATEMENT_END = re.compile(r";[ \t]*(?:\r?\n|$)")
LEDGER = "schema_migrations"

_CREATE_DATABASE = "CREATE DATABASE IF NOT EXISTS {database}{on_cluster}"
_CREATE_LEDGER = f"""
CREATE TABLE IF NOT EXISTS {{database}}.{LEDGER}{{on_cluster}}
(
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC')
)
ENGINE = {{replicated}}ReplacingMergeTree(applied_at)
ORDER BY name
"""


@dataclass(frozen=True)
class Migration:
    """One migration file: its name (file name without ``.sql``) and SQL text."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the unrendered text, the same for every database and cluster."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    """A row of ``schema_migrations``."""

    name: str
    checksum: str
    applied_at: datetime


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def render_migration(sql: str, database: str, cluster: str | None) -> str:
    """Fill in the placeholders for one database, on one server or a cluster.

    Examples
    --------
    >>> ddl = "CREATE TABLE {database}.t{on_cluster} (x UInt8) ENGINE = {replicated}MergeTree"
    >>> render_migration(ddl, "creditbrain", None)
    'CREATE TABLE `creditbrain`.t (x UInt8) ENGINE = MergeTree'
    >>> render_migration(ddl, "creditbrain", "city")
    'CREATE TABLE `creditbrain`.t ON CLUSTER `city` (x UInt8) ENGINE = ReplicatedMergeTree'
    """
    values = {
        "database": _quote(database),
        "on_cluster": f" ON CLUSTER {_quote(cluster)}" if cluster else "",
        "replicated": "Replicated" if cluster else "",
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], sql)


def split_statements(sql: str) -> list[str]:
    """The statements of a file: split at ``;`` ending a line, comment-only parts dropped.

    Examples
    --------
    >>> split_statements("-- two tables\\nCREATE TABLE a (x UInt8);\\n\\nDROP TABLE b;\\n-- end\\n")
    ['-- two tables\\nCREATE TABLE a (x UInt8)', 'DROP TABLE b']
    """
    statements = []
    for part in _STATEMENT_END.split(sql):
        code = [line for line in part.splitlines() if not line.strip().startswith("--")]
        if "".join(code).strip():
            statements.append(part.strip())
    return statements


def available_migrations() -> list[Migration]:
    """The migration files shipped with this version, in order."""
    folder = importlib.resources.files("creditbrain.infra").joinpath("migrations")
    migrations = []
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        name = entry.name.removesuffix(".sql")
        if not _NAME.match(name):
            raise ValueError(f"migration file {entry.name} is not named NNNN_name.sql")
        migrations.append(Migration(name, entry.read_text(encoding="utf-8")))
    return sorted(migrations, key=lambda migration: migration.name)


def applied_migrations(store: Store) -> list[AppliedMigration]:
    """What ``schema_migrations`` records, in order; empty on a fresh store."""
    tables = store.query_rows(
        "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": store.database, "t": LEDGER},
    )
    if not tables[0]["n"]:
        return []
    rows = store.query_rows(
        "SELECT name, checksum, applied_at FROM {db:Identifier}.{t:Identifier} FINAL ORDER BY name",
        {"db": store.database, "t": LEDGER},
    )
    return [
        AppliedMigration(str(row["name"]), str(row["checksum"]), _as_datetime(row["applied_at"]))
        for row in rows
    ]


def _as_datetime(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise StoreError(f"{LEDGER}.applied_at is not a timestamp: {value!r}")
    return value


def migrate(store: Store, cluster: str | None = None) -> list[str]:
    """Create the database if missing and apply the pending migrations, in order.

    Returns the names applied by this call (empty when already up to date). With
    ``cluster``, every statement is rendered ``ON CLUSTER`` with replicated engines.
    """
    database = store.database
    store.command(render_migration(_CREATE_DATABASE, database, cluster), use_database=False)
    store.bind_database()
    store.command(render_migration(_CREATE_LEDGER, database, cluster))
    done = {applied.name: applied.checksum for applied in applied_migrations(store)}
    applied_now = []
    for migration in available_migrations():
        if migration.name in done:
            if done[migration.name] != migration.checksum:
                raise StoreError(
                    f"migration {migration.name} changed after it was applied to {database}; "
                    "add a new migration instead of editing an applied one"
                )
            continue
        for statement in split_statements(render_migration(migration.sql, database, cluster)):
            store.command(statement)
        store.insert_rows(
            LEDGER,
            [
                {
                    "name": migration.name,
                    "checksum": migration.checksum,
                    "applied_at": datetime.now(UTC),
                }
            ],
            ("name", "checksum", "applied_at"),
        )
        applied_now.append(migration.name)
    return applied_now
