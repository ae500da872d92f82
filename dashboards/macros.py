"""Expand panel SQL the way Grafana and the ClickHouse plugin do, for running it ourselves.

Grafana substitutes template variables (``${sector}``) before a query leaves the
browser; the plugin's backend then expands its macros. The offline snapshot and the
tests run the very same panel SQL, so they expand it here the same way:

- ``$__timeFilter(col)`` -> ``col >= toDateTime(<from>) AND col <= toDateTime(<to>)``
- ``$__timeInterval(col)`` -> ``toStartOfInterval(toDateTime(col), INTERVAL <n> second)``
- ``$__fromTime`` / ``$__toTime`` -> ``toDateTime(<from>)`` / ``toDateTime(<to>)``

with ``<from>`` and ``<to>`` in Unix seconds.

Variables come in Grafana's formats. Panel SQL takes every value through
:func:`param`, ``decodeURLComponent('${name:percentencode}')``: percent-encoding
leaves only ``A-Z a-z 0-9 - _ . ~ %`` in the SQL text, so no value can end the
string literal, whatever it holds. Grafana's ``sqlstring`` format is not enough
on ClickHouse: it doubles ``'`` but leaves ``\\``, and ClickHouse reads ``\\'`` as
an escaped quote, so ``\\' OR 1=1 --`` would close the literal (a test shows it).
``expand`` also knows ``sqlstring`` for that test, and the raw ``${name}``, which
it refuses for anything but an inert word.

Examples
--------
>>> from datetime import datetime, UTC
>>> window = TimeWindow(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC), 3600)
>>> print(expand("SELECT $__timeInterval(t) FROM x WHERE $__timeFilter(t) AND s = '${s}'",
...              window, {"s": "food_drug"}))
SELECT toStartOfInterval(toDateTime(t), INTERVAL 3600 second) FROM x
WHERE t >= toDateTime(1735689600) AND t <= toDateTime(1735776000) AND s = 'food_drug'
>>> print(expand(f"SELECT {param('s')}", window, {"s": "x' OR 1=1"}))
SELECT decodeURLComponent('x%27%20OR%201%3D1')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from creditbrain.core.errors import ConfigurationError

_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}")
_SAFE_VALUE = re.compile(r"^[\w*.:-]*$")


@dataclass(frozen=True)
class TimeWindow:
    """The dashboard's time range and the interval its time buckets use."""

    start: datetime
    end: datetime
    interval_s: int

    @property
    def start_s(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_s(self) -> int:
        return int(self.end.timestamp())


def param(name: str) -> str:
    """SQL of the variable ``name``'s value as a string, safe for any value.

    >>> param("sector")
    "decodeURLComponent('${sector:percentencode}')"
    """
    return f"decodeURLComponent('${{{name}:percentencode}}')"


def _formatted(name: str, value: str, form: str | None) -> str:
    """``value`` in Grafana's format ``form`` (None: raw)."""
    if form == "percentencode":
        # Grafana's encodeURIComponentStrict: only unreserved characters stay.
        return quote(value, safe="")
    if form == "sqlstring":
        return "'" + value.replace("'", "''") + "'"
    if form is not None:
        raise ConfigurationError(f"unknown variable format {form!r} of {name!r}")
    # Grafana splices raw values in as text; ours come from the store's own keys, and
    # anything else (a quote, a space) would be an injection, not a sector.
    if not _SAFE_VALUE.match(value):
        raise ConfigurationError(f"unsafe value for {name!r}: {value!r}")
    return value


def expand(sql: str, window: TimeWindow, variables: Mapping[str, str] | None = None) -> str:
    """``sql`` with the variables substituted and the plugin's macros expanded."""
    values = dict(variables or {})

    def variable(match: re.Match[str]) -> str:
        name, form = match.group(1), match.group(2)
        if name not in values:
            raise ConfigurationError(f"no value for the dashboard variable {name!r}")
        return _formatted(name, values[name], form)

    sql = _VARIABLE.sub(variable, sql)
    sql = re.sub(
        r"\$__timeFilter\(\s*([^)]+?)\s*\)",
        lambda m: (
            f"{m.group(1)} >= toDateTime({window.start_s}) "
            f"AND {m.group(1)} <= toDateTime({window.end_s})"
        ),
        sql,
    )
    sql = re.sub(
        r"\$__timeInterval\(\s*([^)]+?)\s*\)",
        lambda m: (
            f"toStartOfInterval(toDateTime({m.group(1)}), INTERVAL {window.interval_s} second)"
        ),
        sql,
    )
    sql = sql.replace("$__fromTime", f"toDateTime({window.start_s})")
    sql = sql.replace("$__toTime", f"toDateTime({window.end_s})")
    if "$__" in sql:
        raise ConfigurationError(f"unexpanded macro in {sql[sql.index('$__') :][:40]!r}")
    return sql
