"""Every panel's SQL runs on a store holding simulated history and returns its columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditbrain.dashboards.catalogue import dashboards
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.dashboards.model import Dashboard, Panel
from creditbrain.infra.store import Store
from tests.dashboards.history import END, START

# Event-time panels look at the simulated year; processing-time panels at today.
WINDOW = TimeWindow(START, datetime.now(UTC) + timedelta(hours=1), 7 * 86_400)
PANELS = [(board, panel) for board in dashboards() for panel in board.panels]


def present(store: Store) -> dict[str, str]:
    """A value present in the data for every variable the dashboards use."""
    subject = store.query_rows(
        "SELECT subject_id FROM alerts FINAL ORDER BY level = 'red' DESC, subject_id LIMIT 1"
    )[0]["subject_id"]
    return {"sector": "food_drug", "district": "371102", "subject_id": str(subject)}


def variables(store: Store, board: Dashboard) -> dict[str, str]:
    """The board's variables as a user first sees them: "All" where offered, else a value."""
    values = present(store)
    return {v.name: v.ALL_VALUE if v.include_all else values[v.name] for v in board.variables}


@pytest.mark.integration
@pytest.mark.parametrize(("board", "panel"), PANELS, ids=[f"{b.uid}:{p.title}" for b, p in PANELS])
def test_panel_sql_returns_rows_with_its_columns(
    history: Store, board: Dashboard, panel: Panel
) -> None:
    values = variables(history, board)
    for query in panel.queries:
        rows = history.query_rows(expand(query.sql, WINDOW, values))
        assert rows, f"{board.uid}: {panel.title!r} returned no rows"
        missing = set(query.columns) - set(rows[0])
        assert not missing, f"{panel.title!r} lacks {missing}; has {sorted(rows[0])}"


@pytest.mark.integration
def test_panels_also_run_with_one_value_chosen_everywhere(history: Store) -> None:
    values = present(history)
    for board in dashboards():
        for panel in board.panels:
            for query in panel.queries:
                history.query_rows(expand(query.sql, WINDOW, values))


@pytest.mark.integration
def test_the_targets_measure_the_simulated_city(history: Store) -> None:
    board = dashboards()[0]
    table = next(p for p in board.panels if p.title.startswith("The plan's targets"))
    rows = history.query_rows(expand(table.queries[0].sql, WINDOW))
    measured = {row["indicator"]: row["measured"] for row in rows}
    events = history.query_rows("SELECT count() AS n FROM events FINAL")[0]["n"]
    assert measured["Credit records held"] == events
    assert measured["Sectors under credit supervision"] == 22
    assert measured["Evaluation coverage of legal persons"] == 100
    assert measured["Credit checks this year"] == 0  # the window ends today, not in 2025
    year_end = TimeWindow(START, END - timedelta(seconds=1), 86_400)
    rows = history.query_rows(expand(table.queries[0].sql, year_end))
    checks = {row["indicator"]: row["measured"] for row in rows}["Credit checks this year"]
    assert checks == 73
    assert 0 < measured["Erroneous credit code rate"] < 1
