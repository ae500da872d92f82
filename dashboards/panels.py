"""Small builders for the panels the dashboards share, and shared SQL fragments.

Each builder returns a :class:`~creditbrain.dashboards.model.Panel` of a given size;
:func:`~creditbrain.dashboards.model.flow` places them. SQL fragments that several
dashboards need (district names, open alerts, the "All" filter) live here once.
"""

from __future__ import annotations

from collections.abc import Mapping

from creditbrain.dashboards.model import Format, Grid, Panel, PanelType, Query
from creditbrain.schemas.reference import DISTRICTS

#: Legal persons in the plan's sense: every subject type but natural persons.
LEGAL_PERSON_TYPES = "('enterprise', 'non_enterprise', 'individual_business', 'government')"

#: The alerts that are in force now (the latest version of each, not resolved).
OPEN_ALERTS = "(SELECT * FROM alerts FINAL WHERE status != 'resolved')"

#: Level order for sorting: red first.
LEVEL_RANK = "indexOf(['red', 'orange', 'yellow', 'blue'], level)"


def district_name(column: str = "district") -> str:
    """SQL mapping a district code to its name (the code itself when unknown)."""
    codes = ", ".join(f"'{code}'" for code in DISTRICTS)
    names = ", ".join(f"'{name}'" for name in DISTRICTS.values())
    return f"transform({column}, [{codes}], [{names}], {column})"


def matches(column: str, variable: str) -> str:
    """A filter on ``column`` by a variable that may be "All" (``*``)."""
    return f"('${{{variable}}}' = '*' OR {column} = '${{{variable}}}')"


def _panel(
    kind: PanelType,
    title: str,
    sql: str,
    columns: tuple[str, ...],
    w: int,
    h: int,
    extra: Mapping[str, object],
    fmt: Format = Format.TABLE,
) -> Panel:
    query = Query(sql=sql.strip(), columns=columns, format=fmt)
    return Panel.model_validate(
        {
            "title": title,
            "type": kind,
            "queries": (query,),
            "grid": Grid(x=0, y=0, w=w, h=h),
            **extra,
        }
    )


def stat(
    title: str, sql: str, columns: tuple[str, ...], w: int = 4, h: int = 4, **extra: object
) -> Panel:
    """A single-value tile (the first numeric column of the single row)."""
    return _panel("stat", title, sql, columns, w, h, extra)


def table(
    title: str, sql: str, columns: tuple[str, ...], w: int = 12, h: int = 8, **extra: object
) -> Panel:
    """Rows as they come."""
    return _panel("table", title, sql, columns, w, h, extra)


def bars(
    title: str, sql: str, columns: tuple[str, ...], w: int = 8, h: int = 8, **extra: object
) -> Panel:
    """A bar chart: the first column names the bars, the others are their values."""
    return _panel("barchart", title, sql, columns, w, h, extra)


def series(
    title: str, sql: str, columns: tuple[str, ...], w: int = 12, h: int = 8, **extra: object
) -> Panel:
    """A time-series chart: ``time``, an optional series name column, a value column."""
    return _panel("timeseries", title, sql, columns, w, h, extra, Format.TIME_SERIES)


def pie(
    title: str, sql: str, columns: tuple[str, ...], w: int = 6, h: int = 8, **extra: object
) -> Panel:
    """Shares of a whole: a name column and a value column."""
    return _panel("piechart", title, sql, columns, w, h, extra)
