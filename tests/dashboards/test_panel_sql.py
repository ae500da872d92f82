"""Every panel's SQL runs on a store holding simulated history and returns its columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditbrain.dashboards.catalogue import dashboards
from creditbrain.dashboards.macros import TimeWindow, expand
from creditbrain.dashboards.model import Dashboard, Panel
from creditbrain.infra.store import Store
from tests.dashboards.history import END, MEASURES, REWARDS, START

PANELS = [(board, panel) for board in dashboards() for panel in board.panels]


def window(board: Dashboard) -> TimeWindow:
    """Event-time dashboards look at the simulated year; processing-time ones at today."""
    if board.event_time:
        return TimeWindow(START, END - timedelta(seconds=1), 7 * 86_400)
    now = datetime.now(UTC)
    return TimeWindow(now - timedelta(hours=6), now + timedelta(hours=1), 600)


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
        rows = history.query_rows(expand(query.sql, window(board), values))
        assert rows, f"{board.uid}: {panel.title!r} returned no rows"
        missing = set(query.columns) - set(rows[0])
        assert not missing, f"{panel.title!r} lacks {missing}; has {sorted(rows[0])}"


@pytest.mark.integration
def test_panels_also_run_with_one_value_chosen_everywhere(history: Store) -> None:
    values = present(history)
    for board in dashboards():
        for panel in board.panels:
            for query in panel.queries:
                history.query_rows(expand(query.sql, window(board), values))


def _measured(store: Store, end: datetime) -> dict[str, object]:
    board = dashboards()[0]
    table = next(p for p in board.panels if p.title.startswith("The plan's targets"))
    rows = store.query_rows(expand(table.queries[0].sql, TimeWindow(START, end, 86_400)))
    return {str(row["indicator"]): row["measured"] for row in rows}


@pytest.mark.integration
def test_the_targets_measure_the_simulated_city(history: Store) -> None:
    measured = _measured(history, END - timedelta(seconds=1))
    events = history.query_rows("SELECT count() AS n FROM events FINAL")[0]["n"]
    assert measured["Credit records held"] == events
    assert measured["Sectors under credit supervision"] == 22
    assert measured["Credit checks this year"] == 73
    assert 0 < float(str(measured["Erroneous credit code rate"])) < 1
    # Coverage divides by the registered population (CityConfig.scaled(0.02): 400
    # enterprises, 40 non-enterprises, 400 persons), not by the subjects seen.
    counts = {
        str(row["subject_type"]): int(str(row["n"]))
        for row in history.query_rows(
            "SELECT subject_type, count() AS n FROM entity_state FINAL GROUP BY subject_type"
        )
    }
    assert measured["Coverage of enterprises"] == round(100 * counts["enterprise"] / 400, 2)
    assert measured["Coverage of persons"] == round(100 * counts["person"] / 400, 2)
    assert float(str(measured["Coverage of persons"])) < 100
    red = history.query_rows(
        "SELECT uniqExact(subject_id) AS n FROM alerts FINAL WHERE level = 'red'"
    )[0]["n"]
    reported = int(str(red)) * len(MEASURES) + len(REWARDS)
    assert measured["Joint measures applied"] == round(100 * (reported - 1) / reported, 2)
    assert measured["信易+ scenarios"] == len(REWARDS)
    # As of the simulated year's end plus a year, this year's checks and measures are gone.
    later = _measured(history, END + timedelta(days=366))
    assert later["Credit checks this year"] == 0
    assert later["Joint measures applied"] is None


@pytest.mark.integration
def test_coverage_is_not_measured_without_a_registry(store: Store) -> None:
    measured = _measured(store, END)
    assert measured["Coverage of enterprises"] is None
    assert measured["Credit records held"] == 0
