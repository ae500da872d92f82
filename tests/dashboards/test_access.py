"""The read-only role, its views and the supervisors' row policies (rendered; chDB has no ACL)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.dashboards.access import (
    CITY,
    READER,
    SCOPED_VIEWS,
    Scope,
    access_statements,
    dashboard_views,
)
from creditbrain.infra.store import Store

FOOD_DONGGANG = Scope("food_donggang", sectors=("food_drug",), districts=("371102",))
LANSHAN = Scope("lanshan", districts=("371103",))
#: Columns no dashboard reader may see: secrets, raw bytes, bodies, free text about people.
FORBIDDEN = {"secret", "raw", "body", "url", "purpose", "note", "detail"}


def test_the_reader_may_select_the_views_and_nothing_else() -> None:
    statements = access_statements("creditbrain", None, [FOOD_DONGGANG])
    grants = [s for s in statements if s.startswith("GRANT SELECT")]
    granted = {re.search(r"`creditbrain`\.`(\w+)`", g).group(1) for g in grants}  # type: ignore[union-attr]
    assert granted == set(dashboard_views())
    assert all(name.startswith("dash_") for name in granted)
    assert all(g.endswith(f"TO {READER}") for g in grants)
    text = "\n".join(statements)
    assert "webhook_subscriptions" not in text and "`audit`" not in text
    assert f"CREATE ROLE IF NOT EXISTS {READER}" in statements


def test_each_scope_gets_a_role_and_a_policy_on_every_scoped_view() -> None:
    statements = access_statements("cb", "city", [FOOD_DONGGANG, LANSHAN])
    for role, condition in (
        (CITY, "1"),
        (FOOD_DONGGANG.role, "sector IN ('food_drug') AND district IN ('371102')"),
        (LANSHAN.role, "district IN ('371103')"),
    ):
        assert f"CREATE ROLE IF NOT EXISTS {role} ON CLUSTER `city`" in statements
        assert f"GRANT ON CLUSTER `city` {READER} TO {role}" in statements
        policies = [s for s in statements if "ROW POLICY" in s and s.endswith(f"TO {role}")]
        assert len(policies) == len(SCOPED_VIEWS)
        assert all(f"USING {condition} AS permissive" in p for p in policies)


def test_a_scope_of_unknown_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        Scope("x", sectors=("food_drug'; DROP TABLE events; --",))
    with pytest.raises(ValueError, match="limits nothing"):
        Scope("everything")


def test_db_render_prints_the_access_ddl() -> None:
    result = CliRunner().invoke(
        app, ["db", "render", "--access", "--scope", "food_donggang:food_drug:371102"]
    )
    assert result.exit_code == 0, result.output
    assert "CREATE VIEW IF NOT EXISTS `creditbrain`.dash_alerts" in result.output
    assert "CREATE ROW POLICY IF NOT EXISTS cb_scope_food_donggang" in result.output


@pytest.mark.integration
def test_every_access_statement_parses(history: Store) -> None:
    for statement in access_statements(history.database, "city", [FOOD_DONGGANG, LANSHAN]):
        history.query_rows("SELECT formatQuerySingleLine({q:String}) AS f", {"q": statement})


@pytest.mark.integration
def test_the_views_hold_no_secret_and_no_clear_name(history: Store) -> None:
    columns = history.query_rows(
        "SELECT table, name FROM system.columns WHERE database = {db:String} "
        "AND startsWith(table, 'dash_')",
        {"db": history.database},
    )
    by_view: dict[str, set[str]] = {}
    for row in columns:
        by_view.setdefault(str(row["table"]), set()).add(str(row["name"]))
    assert set(by_view) == set(dashboard_views())
    for view, names in by_view.items():
        assert not names & FORBIDDEN, (view, names & FORBIDDEN)
    for view in SCOPED_VIEWS:
        assert {"sector", "district"} <= by_view[view], view
    clear = history.query_rows(
        "SELECT count() AS n FROM entity_state AS e FINAL JOIN dash_entity_state AS d "
        "USING subject_id WHERE e.subject_type = 'person' AND lengthUTF8(e.subject_name) > 1 "
        "AND d.subject_name = e.subject_name"
    )
    assert clear == [{"n": 0}]


@pytest.mark.integration
@pytest.mark.parametrize("scope", [FOOD_DONGGANG, LANSHAN], ids=lambda s: s.name)
def test_a_policy_keeps_its_scope_and_all_of_it(history: Store, scope: Scope) -> None:
    # chDB cannot enforce a row policy: run its USING expression as the server would.
    for view in SCOPED_VIEWS:
        kept = history.query_rows(
            f"SELECT count() AS n, groupUniqArray(sector) AS sectors, "  # noqa: S608
            f"groupUniqArray(district) AS districts FROM {view} WHERE {scope.condition()}"
        )[0]
        assert set(kept["sectors"]) <= set(scope.sectors or kept["sectors"])  # type: ignore[call-overload]
        assert set(kept["districts"]) <= set(scope.districts or kept["districts"])  # type: ignore[call-overload]
        everything = history.query_rows(f"SELECT count() AS n FROM {view}")[0]["n"]  # noqa: S608
        assert 0 < kept["n"] <= everything or view == "dash_metric_anomalies", view  # type: ignore[operator]


@pytest.mark.integration
def test_every_view_reads_back_whatever_the_dead_letters_hold(store: Store) -> None:
    odd = [
        '{"reported_at": "0001-01-01T00:00:00+08:00", "source": "a"}',
        '{"reported_at": "9999-12-31T00:00:00Z"}',
        '{"reported_at": "2025-01-01T00:00:00+08:00"}',
        "not json",
    ]
    rows = [
        {"topic": "t", "partition": 0, "offset": i, "reason": "bad_field", "raw": raw}
        for i, raw in enumerate(odd)
    ]
    store.insert_rows("dlq", rows, ("topic", "partition", "offset", "reason", "raw"))
    for view in dashboard_views():
        store.query_rows(f"SELECT * FROM {view}")  # noqa: S608
    times = [r["reported_at"] for r in store.query_rows("SELECT reported_at FROM dash_dlq")]
    assert sorted(str(t) for t in times) == ["2024-12-31 16:00:00+00:00", "None", "None", "None"]
