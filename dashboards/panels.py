"""Small builders for the panels the dashboards share, and shared SQL fragments.

Each builder returns a :class:`~creditbrain.dashboards.model.Panel` of a given size;
:func:`~creditbrain.dashboards.model.flow` places them. SQL fragments that several
dashboards need (masked names, open alerts, the "All" filter) live here once, and
the data links of the drill-down (city → district → sector → subject).
"""

from __future__ import annotations

from collections.abc import Mapping

from creditbrain.dashboards.macros import param
from creditbrain.dashboards.model import Format, Grid, Link, Panel, PanelType, Query

#: Legal persons in the plan's sense: every subject type but natural persons.
LEGAL_PERSON_TYPES = "('enterprise', 'non_enterprise', 'individual_business', 'government')"

#: The alerts that are in force now (the latest version of each, not resolved).
OPEN_ALERTS = "(SELECT * FROM dash_alerts WHERE status != 'resolved')"

#: Level order for sorting: red first.
LEVEL_RANK = "indexOf(['red', 'orange', 'yellow', 'blue'], level)"


def masked_name(name: str = "subject_name", subject_type: str = "subject_type") -> str:
    """SQL of a subject's name as dashboards show it: a person's masked, others as they are.

    The rule of :func:`creditbrain.schemas.warnings.mask_person_name`: the first
    character, then one ``*`` per further character (one character becomes ``*``).
    """
    length = f"lengthUTF8({name})"
    masked = (
        f"if({length} <= 1, repeat('*', {length}), "
        f"concat(substringUTF8({name}, 1, 1), repeat('*', {length} - 1)))"
    )
    return f"if({subject_type} = 'person', {masked}, {name})"


WORKING_DAYS = (
    "arrayCount(d -> toDayOfWeek(d) <= 5, arrayMap(i -> toDate(occurred_at, 'Asia/Shanghai') "
    "+ 1 + i, range(toUInt32(least(15, greatest(0, dateDiff('day', "
    "toDate(occurred_at, 'Asia/Shanghai'), toDate(reported_at, 'Asia/Shanghai'))))))))"
)
"""SQL of the working days (Monday to Friday, Beijing time) from a record's ``occurred_at``
to its ``reported_at``; counted up to 15 calendar days, which always hold more than the
7 working days the 双公示 rule allows. Public holidays are not known to the store."""


def matches(column: str, variable: str) -> str:
    """A filter on ``column`` by a variable that may be "All" (``*``).

    >>> print(matches("d", "v").replace(param("v"), "<v>"))
    (<v> = '*' OR d = <v>)
    """
    return f"({param(variable)} = '*' OR {column} = {param(variable)})"


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


def to_district(column: str = "district") -> Link:
    """A link from a district cell to that district's grid."""
    return Link(column=column, dashboard="cb-district-grid", variables=(("district", column),))


def to_sector(column: str = "sector", district: str | None = "district") -> Link:
    """A link from a sector cell to that sector's supervision (in the row's district)."""
    variables = (("sector", column),) + ((("district", district),) if district else ())
    return Link(column=column, dashboard="cb-sector-supervision", variables=variables)


def to_subject(column: str = "subject_id") -> Link:
    """A link from a subject cell to the subject page."""
    return Link(column=column, dashboard="cb-subject", variables=(("subject_id", column),))
