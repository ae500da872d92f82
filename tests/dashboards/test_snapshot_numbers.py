"""Every figure, label and cell the snapshot shows is the query result it was drawn from."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from creditbrain.dashboards.catalogue import dashboards
from creditbrain.dashboards.macros import expand
from creditbrain.dashboards.names import shown
from creditbrain.dashboards.snapshot import render_snapshot
from creditbrain.dashboards.svg import number
from creditbrain.infra.store import Store
from creditbrain.schemas.reference import DISTRICTS, SECTORS
from tests.dashboards.pages import PageShown, PanelShown, read_page

SHANGHAI = ZoneInfo("Asia/Shanghai")


def figure(text: str) -> float:
    """A shown figure back as a number: thousands separators and the unit removed."""
    return float(text.removesuffix(" %").replace(",", ""))


def same(text: str, value: object) -> bool:
    """Whether ``text`` shows ``value`` at the precision the snapshot writes figures in."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text == "–"
    if isinstance(value, datetime):
        return text == f"{value.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return text == value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        exact = float(value)
        if exact == int(exact):
            return figure(text) == exact
        return abs(figure(text) - exact) <= max(0.005, abs(exact) * 1e-3)
    return text == str(value)  # ids (UUID)


@pytest.fixture(scope="module")
def pages(history: Store, tmp_path_factory: pytest.TempPathFactory) -> list[PageShown]:
    out = tmp_path_factory.mktemp("snapshot")
    render_snapshot(history, out)
    return [read_page(path) for path in sorted(out.glob("*.html"))]


def _checked(history: Store, pages: list[PageShown]) -> Iterator[tuple[str, str, object]]:
    """(where, shown text, query value) for every figure and cell of every page."""
    boards = {board.uid: board for board in dashboards()}
    for page in pages:
        board = boards[page.dashboard]
        for index, panel in enumerate(board.panels):
            query = panel.queries[0]
            rows = history.query_rows(expand(query.sql, page.window, page.variables))
            where = f"{page.dashboard} {page.variables} {panel.title!r}"
            yield from _panel_checked(where, panel.type, query.columns, page.panels[index], rows)


def _panel_checked(
    where: str,
    kind: str,
    columns: tuple[str, ...],
    panel: PanelShown,
    rows: Sequence[Mapping[str, object]],
) -> Iterator[tuple[str, str, object]]:
    if kind == "stat":
        value = rows[0][columns[0]] if rows else None
        if isinstance(value, str):
            assert panel.values[0] == shown(columns[0], value, "zh"), where
        else:
            yield where, panel.values[0], value
    elif kind in ("barchart", "piechart") and rows:
        assert len(panel.bar_values) == len(rows), where
        for text, row in zip(panel.bar_values, rows, strict=True):
            yield where, text, row[columns[1]]
        for text, row in zip(panel.bar_labels, rows, strict=True):
            assert text == shown(columns[0], row[columns[0]], "zh"), where
    elif kind == "timeseries" and rows:
        numbers = [
            float(cell)
            for row in rows
            for cell in (row[c] for c in columns[1:])
            if isinstance(cell, int | float | Decimal)
        ]
        yield where, panel.axis["axis-max"], max(max(numbers), 0.0)
        yield where, panel.axis["axis-min"], min(min(numbers), 0.0)
    elif kind == "table":
        assert len(panel.rows) == min(len(rows), 12), where
        for shown_row, row in zip(panel.rows, rows, strict=False):
            assert [c for c, _ in shown_row] == list(columns), where
            for column, text in shown_row:
                if isinstance(row[column], str):
                    assert text == shown(column, row[column], "zh"), (where, column)
                else:
                    yield f"{where} {column}", text, row[column]


@pytest.mark.integration
def test_every_shown_figure_is_its_query_result(history: Store, pages: list[PageShown]) -> None:
    checked = list(_checked(history, pages))
    wrong = [(where, text, value) for where, text, value in checked if not same(text, value)]
    assert not wrong, wrong[:10]
    assert len(checked) > 500  # every page, not a few tiles
    boards = {page.dashboard for page in pages}
    assert boards == {board.uid for board in dashboards()}


@pytest.mark.integration
def test_the_snapshot_speaks_chinese_with_names_not_keys(pages: list[PageShown]) -> None:
    city = next(page for page in pages if page.dashboard == "cb-city-overview")
    assert "城市信用大脑 · 全市总览" in city.text
    assert "东港区" in city.text and SECTORS["market_regulation"] in city.text
    assert "market_regulation" not in city.text
    grid = city.panels[max(city.panels)]  # the recent red warnings: district names, not codes
    assert {text for row in grid.rows for column, text in row if column == "district"} <= {
        name.split(" ")[0] for name in DISTRICTS.values()
    }
    assert "(Asia/Shanghai)" in city.text and "2025-12-3" in city.text  # as of the data's end
    districts = {page.variables.get("district") for page in pages}
    assert set(DISTRICTS) <= districts


def test_no_formatter_changes_a_figures_magnitude() -> None:
    # The figures of a full demo run that a "k" suffix once divided by ten.
    assert number(36_648) == "36,648"
    assert number(17_335) == "17,335"
    assert number(215_483) == "215,483"
    for value in (9_999, 10_000, 12_345.678, 1_000_000_000, 0.004_9, 99.5):
        assert abs(figure(number(value)) - value) <= max(0.005, value * 1e-3)
