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

On a cluster every table is sharded: ``CREATE TABLE {database}.events{on_cluster}``
creates the replicated local table ``events_local`` on every node, and
:func:`render_statements` follows it with ``events``, a ``Distributed`` table over
the local ones, so readers and writers keep using the plain name. Each table is
spread by the sharding key in :data:`SHARDING_KEYS`, chosen so that every version
of a row lands on one shard: ReplacingMergeTree and SummingMergeTree collapse rows
within a shard only, and ``FINAL`` through a Distributed table is exact only then.
A column change (``ALTER TABLE {database}.t{on_cluster} ADD COLUMN ...``, alone in
its statement) is applied to the local table and then to the Distributed one; any
other statement on a sharded table is refused on a cluster rather than guessed.
On a single server none of this applies and the output is the placeholders filled in.

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
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from creditbrain.core.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "SHARDING_KEYS",
    "AppliedMigration",
    "Migration",
    "MigrationTarget",
    "applied_migrations",
    "available_migrations",
    "migrate",
    "render_all",
    "render_migration",
    "render_statements",
    "split_statements",
]


class MigrationTarget(Protocol):
    """What migrating needs of a store; :class:`~creditbrain.infra.store.Store` is one.

    A protocol rather than the class: :mod:`~creditbrain.infra.store` imports this
    module (it hands :func:`migrate` to its callers), so this one must not import it back.
    """

    database: str

    def bind_database(self) -> None: ...

    def query_rows(
        self, sql: str, parameters: Mapping[str, object] | None = None
    ) -> list[dict[str, object]]: ...

    def command(
        self, sql: str, parameters: Mapping[str, object] | None = None, *, use_database: bool = True
    ) -> None: ...

    def insert_rows(
        self, table: str, rows: Sequence[Mapping[str, object]], columns: Sequence[str]
    ) -> None: ...


_NAME = re.compile(r"^\d{4}_[a-z0-9_]+$")
_PLACEHOLDER = re.compile(r"\{(database|on_cluster|replicated)\}")
_STATEMENT_END = re.compile(r";[ \t]*(?:\r?\n|$)")
_TABLE_REF = re.compile(r"\{database\}\.(\w+)\{on_cluster\}")
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+TABLE\b", re.IGNORECASE | re.MULTILINE)
#: A view is created on every server under its own name and reads the tables by
#: their names, which on a cluster are the Distributed tables: no local counterpart.
_CREATE_VIEW = re.compile(r"^\s*CREATE\s+VIEW\b", re.IGNORECASE | re.MULTILINE)
_COLUMN_ALTER = re.compile(
    r"^\s*ALTER\s+TABLE\s+\S+\s+(?:ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b",
    re.IGNORECASE | re.MULTILINE,
)
_ENGINE = re.compile(r"\bENGINE\s*=\s*\{replicated\}\w*MergeTree\b")
LEDGER = "schema_migrations"
LOCAL_SUFFIX = "_local"

#: How each table is spread over the shards of a cluster: the Distributed table's
#: sharding key. Rows that collapse into one (same sorting key of a Replacing or
#: Summing table) must share it; one subject's rows share a shard, so a credit check
#: can skip the others (``optimize_skip_unused_shards``). Every table of the
#: migrations needs an entry (tested): a new table is a decision, not a default.
SHARDING_KEYS: Mapping[str, str] = MappingProxyType(
    {
        LEDGER: "cityHash64(name)",
        # 0001: a redelivered event has the same subject; a subject's history is one shard.
        "events": "cityHash64(subject_id)",
        # 0001: every verdict on one source message (its revisions) on one shard.
        "dlq": "cityHash64(topic, `partition`, `offset`)",
        # 0002, 0003: per subject, like the events they come from.
        "scores": "cityHash64(subject_id)",
        "entity_state": "cityHash64(subject_id)",
        "alerts": "cityHash64(subject_id)",
        # 0003: a CloudEvent sent again is the same alert's; its sort key has no subject.
        "alert_events": "cityHash64(alert_id)",
        # 0003: a replay mark is a newer row of the same (subscription, id).
        "webhook_dead_letters": "cityHash64(subscription_id, id)",
        # 0004: one grid cell's counts and verdicts together, so partial sums merge.
        "metric_counts": "cityHash64(sector, district)",
        "metric_anomalies": "cityHash64(sector, district)",
        # 0008: metric_counts' replacement, every write of a series-day on one shard.
        "metric_day_counts": "cityHash64(sector, district)",
        # 0004, 0005: append-only, nothing collapses: spread evenly.
        "pipeline_metrics": "rand()",
        "audit": "rand()",
        # 0006, 0007: newer rows replace older ones of the same alert / subscription.
        "alert_acks": "cityHash64(alert_id)",
        "webhook_subscriptions": "cityHash64(id)",
        # 0009: every version and step of one case on one shard.
        "cases": "cityHash64(case_id)",
        "case_transitions": "cityHash64(case_id)",
        # 0010: a preview's finished row replaces its started one.
        "policy_previews": "cityHash64(id)",
        # 0011: the reports of one measure on one subject together (latest decision wins).
        "measures": "cityHash64(measure_id, subject_id)",
        # 0012: one row per subject type, the latest count wins.
        "subject_registry": "cityHash64(subject_type)",
        # 0014: per subject, like the alerts whose changes it marks.
        "alert_snoozes": "cityHash64(subject_id)",
        # 0014: newer rows replace older ones of the same watch list / subscription.
        "watchlists": "cityHash64(id)",
        "subscription_subjects": "cityHash64(subscription_id)",
        # 0015: a shadow's warnings per subject, like the live ones; a shadow's versions.
        "shadow_alerts": "cityHash64(subject_id)",
        "shadow_policies": "cityHash64(name)",
    }
)

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
    On a cluster the table is the local one of a sharded table (see
    :func:`render_statements` for its Distributed counterpart).

    >>> ddl = "CREATE TABLE {database}.audit{on_cluster} (x UInt8) ENGINE = {replicated}MergeTree"
    >>> render_migration(ddl, "cb", None)
    'CREATE TABLE `cb`.audit (x UInt8) ENGINE = MergeTree'
    >>> render_migration(ddl, "cb", "city")
    'CREATE TABLE `cb`.audit_local ON CLUSTER `city` (x UInt8) ENGINE = ReplicatedMergeTree'
    """
    if cluster and not _CREATE_VIEW.search(sql):
        sql = _TABLE_REF.sub(lambda match: _local_ref(match.group(1)), sql)
    return _fill(sql, database, cluster)


def _fill(sql: str, database: str, cluster: str | None) -> str:
    values = {
        "database": _quote(database),
        "on_cluster": f" ON CLUSTER {_quote(cluster)}" if cluster else "",
        "replicated": "Replicated" if cluster else "",
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], sql)


def _local_ref(table: str) -> str:
    if table not in SHARDING_KEYS:
        raise ValueError(
            f"table {table} has no sharding key: add it to SHARDING_KEYS in "
            "creditbrain.infra.migrate before rendering for a cluster"
        )
    return f"{{database}}.{table}{LOCAL_SUFFIX}{{on_cluster}}"


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _distributed(statement: str, database: str, cluster: str) -> str | None:
    """The Distributed counterpart of one unrendered statement, if it needs one."""
    tables = _TABLE_REF.findall(statement)
    if not tables or _CREATE_VIEW.search(statement):
        return None
    if len(tables) > 1:
        raise ValueError(f"cannot render a statement on several tables for a cluster: {tables}")
    table = tables[0]
    on_cluster = f"{_quote(database)}.{_quote(table)} ON CLUSTER {_quote(cluster)}"
    if _CREATE_TABLE.search(statement) and _ENGINE.search(statement):
        local = _quote(table + LOCAL_SUFFIX)
        engine = ", ".join(
            [_literal(cluster), _literal(database), _literal(table + LOCAL_SUFFIX)]
            + [SHARDING_KEYS[table]]
        )
        return (
            f"CREATE TABLE IF NOT EXISTS {on_cluster}\n"
            f"AS {_quote(database)}.{local}\n"
            f"ENGINE = Distributed({engine})"
        )
    if _COLUMN_ALTER.search(statement):
        mirrored = _TABLE_REF.sub(lambda _: on_cluster, statement, count=1)
        return _fill(mirrored, database, cluster)
    raise ValueError(
        f"cannot render this statement on {table} for a sharded cluster; only CREATE TABLE "
        f"with a MergeTree engine and column ALTERs are supported:\n{statement}"
    )


def render_statements(sql: str, database: str, cluster: str | None) -> list[str]:
    """The statements to run for one migration text, in order.

    On a single server: :func:`render_migration` split into statements. On a cluster,
    each table's replicated local statement is followed by its Distributed one.

    Examples
    --------
    >>> ddl = (
    ...     "CREATE TABLE IF NOT EXISTS {database}.audit{on_cluster} (ts DateTime)\\n"
    ...     "ENGINE = {replicated}MergeTree ORDER BY ts;\\n"
    ... )
    >>> render_statements(ddl, "cb", None)
    ['CREATE TABLE IF NOT EXISTS `cb`.audit (ts DateTime)\\nENGINE = MergeTree ORDER BY ts']
    >>> for statement in render_statements(ddl, "cb", "city"):
    ...     print(statement)
    CREATE TABLE IF NOT EXISTS `cb`.audit_local ON CLUSTER `city` (ts DateTime)
    ENGINE = ReplicatedMergeTree ORDER BY ts
    CREATE TABLE IF NOT EXISTS `cb`.`audit` ON CLUSTER `city`
    AS `cb`.`audit_local`
    ENGINE = Distributed('city', 'cb', 'audit_local', rand())
    """
    if not cluster:
        return split_statements(render_migration(sql, database, None))
    statements = []
    for statement in split_statements(sql):
        statements.append(render_migration(statement, database, cluster))
        distributed = _distributed(statement, database, cluster)
        if distributed is not None:
            statements.append(distributed)
    return statements


def render_all(database: str, cluster: str | None) -> list[str]:
    """Every statement :func:`migrate` would run on an empty store, in order.

    The database, the ledger, then every migration file; for review, or to apply by
    hand where the migration job cannot run.
    """
    statements = [render_migration(_CREATE_DATABASE, database, cluster)]
    statements += render_statements(_CREATE_LEDGER, database, cluster)
    for migration in available_migrations():
        statements += render_statements(migration.sql, database, cluster)
    return statements


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


def applied_migrations(store: MigrationTarget) -> list[AppliedMigration]:
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


def migrate(store: MigrationTarget, cluster: str | None = None) -> list[str]:
    """Create the database if missing and apply the pending migrations, in order.

    Returns the names applied by this call (empty when already up to date). With
    ``cluster``, every statement is rendered ``ON CLUSTER``: replicated local tables
    and the Distributed tables over them (:func:`render_statements`).
    """
    database = store.database
    store.command(render_migration(_CREATE_DATABASE, database, cluster), use_database=False)
    store.bind_database()
    for statement in render_statements(_CREATE_LEDGER, database, cluster):
        store.command(statement)
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
        for statement in render_statements(migration.sql, database, cluster):
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
