"""The schema rendered for a ClickHouse cluster: replicated local tables, Distributed fronts.

No cluster runs here, so the rendered DDL is checked for its shape and parsed (not
executed) by the real ClickHouse parser in chDB through ``formatQuery``, on the
session's store (chDB opens one data path per process); the single-server rendering
is executed on chDB by tests/infra/test_store.py and test_migrate.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.core.errors import StoreError
from creditbrain.infra.migrate import (
    LEDGER,
    LOCAL_SUFFIX,
    SHARDING_KEYS,
    available_migrations,
    render_all,
    render_migration,
    render_statements,
    split_statements,
)
from creditbrain.infra.store import Store, connect
from creditbrain.settings import get_settings

DATABASE = "creditbrain"
CLUSTER = "city"
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS `creditbrain`\.`?(\w+)`? ON CLUSTER `city`")
_CREATE_ANY = re.compile(
    r"CREATE (?:TABLE|VIEW) IF NOT EXISTS `creditbrain`\.`?\w+`? ON CLUSTER `city`"
)
_DISTRIBUTED = re.compile(
    r"ENGINE = Distributed\('city', 'creditbrain', '(\w+)', (.+)\)\s*$", re.DOTALL
)


def _parse(store: Store, statement: str) -> str:
    """The statement as ClickHouse's parser prints it back; raises on a syntax error."""
    rows = store.query_rows("SELECT formatQuerySingleLine({q:String}) AS f", {"q": statement})
    return str(rows[0]["f"])


@pytest.fixture(scope="module")
def parser(chdb_dsn: str) -> Iterator[Store]:
    """The session's chDB store (one data path per process), used for its parser only."""
    with connect(chdb_dsn, "default") as store:
        yield store


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))


@pytest.fixture(scope="module")
def cluster_sql() -> list[str]:
    return [_code(statement) for statement in render_all(DATABASE, CLUSTER)]


def _tables(statements: list[str]) -> dict[str, str]:
    tables = {}
    for statement in statements:
        match = _CREATE.search(statement)
        if match:
            tables[match.group(1)] = statement
    return tables


def _migration_tables() -> set[str]:
    names = {LEDGER}
    for migration in available_migrations():
        names |= set(re.findall(r"\{database\}\.(\w+)\{on_cluster\}", migration.sql))
        # Views hold no rows: nothing to shard.
        names -= set(re.findall(r"CREATE VIEW IF NOT EXISTS \{database\}\.(\w+)", migration.sql))
    return names


def test_every_table_of_the_migrations_has_a_sharding_decision() -> None:
    assert _migration_tables() == set(SHARDING_KEYS)


def test_every_statement_runs_on_the_whole_cluster(cluster_sql: list[str]) -> None:
    assert cluster_sql[0] == "CREATE DATABASE IF NOT EXISTS `creditbrain` ON CLUSTER `city`"
    for statement in cluster_sql[1:]:
        assert _CREATE_ANY.search(statement), statement


def test_local_tables_are_replicated_merge_trees(cluster_sql: list[str]) -> None:
    tables = _tables(cluster_sql)
    for table in SHARDING_KEYS:
        local = tables[table + LOCAL_SUFFIX]
        assert re.search(r"ENGINE = Replicated(Replacing|Summing)?MergeTree\b", local), local
        assert "Distributed" not in local
    engines = re.findall(r"ENGINE = (\w+)", "\n".join(cluster_sql))
    merge_trees = [engine for engine in engines if engine.endswith("MergeTree")]
    assert merge_trees and all(engine.startswith("Replicated") for engine in merge_trees)


def test_every_table_is_distributed_over_its_local_table(cluster_sql: list[str]) -> None:
    tables = _tables(cluster_sql)
    assert set(tables) == set(SHARDING_KEYS) | {t + LOCAL_SUFFIX for t in SHARDING_KEYS}
    for table, key in SHARDING_KEYS.items():
        front = tables[table]
        assert f"AS `creditbrain`.`{table}{LOCAL_SUFFIX}`" in front
        match = _DISTRIBUTED.search(front)
        assert match, front
        assert match.group(1) == table + LOCAL_SUFFIX
        assert match.group(2) == key


def test_the_distributed_table_follows_its_local_table(cluster_sql: list[str]) -> None:
    order = [match.group(1) for s in cluster_sql if (match := _CREATE.search(s))]
    for table in SHARDING_KEYS:
        assert order.index(table) == order.index(table + LOCAL_SUFFIX) + 1


@pytest.mark.parametrize("table", sorted(set(SHARDING_KEYS) - {"audit", "pipeline_metrics"}))
def test_rows_that_collapse_share_a_shard(cluster_sql: list[str], table: str) -> None:
    # ReplacingMergeTree / SummingMergeTree collapse within one shard only: the sharding
    # key may use only columns of the sorting key, so equal keys go to the same shard.
    local = _tables(cluster_sql)[table + LOCAL_SUFFIX]
    # The table's own ORDER BY comes after its engine (a projection has one too).
    order_by = re.search(r"ORDER BY \(?([^)\n]+)\)?", local[local.index("ENGINE =") :])
    assert order_by, local
    sort_columns = {column.strip(" `") for column in order_by.group(1).split(",")}
    key = SHARDING_KEYS[table]
    key_columns = {
        c.strip(" `") for c in re.fullmatch(r"cityHash64\((.+)\)", key).group(1).split(",")
    }
    assert key_columns <= sort_columns, (table, key_columns, sort_columns)


@pytest.mark.parametrize("table", ["audit", "pipeline_metrics"])
def test_append_only_tables_are_spread_evenly(cluster_sql: list[str], table: str) -> None:
    local = _tables(cluster_sql)[table + LOCAL_SUFFIX]
    assert re.search(r"ENGINE = ReplicatedMergeTree\b", local)
    assert SHARDING_KEYS[table] == "rand()"


@pytest.mark.integration
def test_cluster_ddl_parses_as_clickhouse_sql(cluster_sql: list[str], parser: Store) -> None:
    for statement in cluster_sql:
        formatted = _parse(parser, statement)
        assert " ON CLUSTER city" in formatted, formatted


@pytest.mark.integration
def test_the_parser_check_can_fail(parser: Store) -> None:
    last = [s for s in render_all(DATABASE, CLUSTER) if "ENGINE = Distributed(" in s][-1]
    broken = last.replace("ENGINE = Distributed(", "ENGINE = (")
    with pytest.raises(StoreError, match="Syntax error"):
        _parse(parser, broken)


def test_single_server_rendering_is_untouched() -> None:
    for migration in available_migrations():
        plain = render_statements(migration.sql, DATABASE, None)
        assert plain == split_statements(render_migration(migration.sql, DATABASE, None))
        assert "_local" not in "\n".join(plain)
        assert "Distributed" not in "\n".join(plain)
        # Only the placeholders change: the text between them is the file's own.
        expected = (
            migration.sql.replace("{database}", f"`{DATABASE}`")
            .replace("{on_cluster}", "")
            .replace("{replicated}", "")
        )
        assert render_migration(migration.sql, DATABASE, None) == expected


def test_a_column_change_reaches_both_tables() -> None:
    alter = "ALTER TABLE {database}.events{on_cluster} ADD COLUMN IF NOT EXISTS channel String;\n"
    local, front = render_statements(alter, "cb", "city")
    assert (
        local
        == "ALTER TABLE `cb`.events_local ON CLUSTER `city` ADD COLUMN IF NOT EXISTS channel String"
    )
    assert (
        front
        == "ALTER TABLE `cb`.`events` ON CLUSTER `city` ADD COLUMN IF NOT EXISTS channel String"
    )
    assert render_statements(alter, "cb", None) == [
        "ALTER TABLE `cb`.events ADD COLUMN IF NOT EXISTS channel String"
    ]


def test_what_cannot_be_rendered_for_a_cluster_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot render"):
        render_statements("DROP TABLE {database}.events{on_cluster};\n", "cb", "city")
    new_table = (
        "CREATE TABLE {database}.unplanned{on_cluster} (x UInt8) "
        "ENGINE = {replicated}MergeTree ORDER BY x;\n"
    )
    with pytest.raises(ValueError, match="no sharding key"):
        render_statements(new_table, "cb", "city")
    assert render_statements(new_table, "cb", None)


def test_db_render_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITBRAIN_CLICKHOUSE__CLUSTER", raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        plain = runner.invoke(app, ["db", "render", "--database", "cb"])
        clustered = runner.invoke(app, ["db", "render", "--cluster", "city", "--database", "cb"])
    finally:
        get_settings.cache_clear()
    assert plain.exit_code == 0, plain.output
    assert clustered.exit_code == 0, clustered.output
    assert plain.output == "".join(f"{s};\n\n" for s in render_all("cb", None))
    assert clustered.output == "".join(f"{s};\n\n" for s in render_all("cb", "city"))
    assert "ON CLUSTER" not in plain.output
    assert clustered.output.count("ENGINE = Distributed(") == len(SHARDING_KEYS)
