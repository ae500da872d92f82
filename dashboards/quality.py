"""Department data quality (归集质量): how well each source department reports.

Per department (the records' ``source``): volume per day, dead letters by reason
and their rate, timeliness (``reported_at − occurred_at``; the share within 7
working days that 双公示 asks for) and the days in the range without any report.
Dead letters name their department only when their bytes parse as JSON with a
``source``; the others are counted under ``(unreadable)``. Like the records, they
are placed in time by when the department reported them.
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from creditbrain.dashboards.model import Dashboard, flow
from creditbrain.dashboards.panels import WORKING_DAYS, bars, series, stat, table

UID = "cb-data-quality"

#: Dead letters in event time: when the department reported them (from their bytes),
#: else when they arrived; and their department, when their bytes name one.
_DEAD = (
    "(SELECT if(source = '', '(unreadable)', source) AS source, reason, "
    "coalesce(reported_at, received_at) AS at FROM dash_dlq "
    "WHERE resolution = '' HAVING $__timeFilter(at))"
)
_RECORDS = f"""
SELECT source, count() AS records,
       round(count() / (dateDiff('day', $__fromTime, $__toTime) + 1), 2) AS per_day,
       round(100 * countIf(working_days <= 7) / count(), 2) AS within_7_working_days,
       round(avg(dateDiff('second', occurred_at, reported_at)) / 86400, 2) AS avg_delay_days,
       uniqExact(toDate(reported_at, 'Asia/Shanghai')) AS days_reported
FROM (SELECT source, occurred_at, reported_at, {WORKING_DAYS} AS working_days
      FROM dash_events WHERE $__timeFilter(occurred_at))
GROUP BY source
"""
_DEPARTMENTS = f"""
SELECT source, records, per_day, dead_letters,
       round(100 * dead_letters / (records + dead_letters), 3) AS dead_letter_rate,
       within_7_working_days, avg_delay_days,
       dateDiff('day', $__fromTime, $__toTime) + 1 - days_reported AS days_without_report
FROM ({_RECORDS}) AS r
FULL JOIN (SELECT source, count() AS dead_letters FROM {_DEAD} GROUP BY source) AS d
    USING source
ORDER BY within_7_working_days, source
"""


def data_quality() -> Dashboard:
    """The department data-quality dashboard."""
    panels = [
        stat(
            "Reported within 7 working days",
            "SELECT round(100 * countIf(working_days <= 7) / nullIf(count(), 0), 2) AS value "
            f"FROM (SELECT {WORKING_DAYS} AS working_days FROM dash_events "
            "WHERE $__timeFilter(occurred_at))",
            ("value",),
            w=8,
            unit="percent",
            target="100 %",
            good_from=100,
        ),
        stat(
            "Dead-letter rate",
            f"SELECT round(100 * dead / greatest(1, dead + (SELECT uniqExact(event_id) "
            "FROM dash_events WHERE $__timeFilter(reported_at))), 3) AS value "
            f"FROM (SELECT count() AS dead FROM {_DEAD})",
            ("value",),
            w=8,
            unit="percent",
        ),
        stat(
            "Reporting departments",
            "SELECT uniqExact(source) AS value FROM dash_events WHERE $__timeFilter(occurred_at)",
            ("value",),
            w=8,
        ),
        table(
            "Departments",
            _DEPARTMENTS,
            (
                "source",
                "records",
                "per_day",
                "dead_letters",
                "dead_letter_rate",
                "within_7_working_days",
                "avg_delay_days",
                "days_without_report",
            ),
            w=24,
            h=9,
        ),
        series(
            "Records by department over time",
            "SELECT $__timeInterval(reported_at) AS time, source, "
            "count() AS records FROM dash_events WHERE $__timeFilter(occurred_at) "
            "GROUP BY time, source ORDER BY time, source",
            ("time", "source", "records"),
            w=24,
        ),
        bars(
            "Dead letters by reason",
            f"SELECT reason, count() AS dead_letters FROM {_DEAD} "
            "GROUP BY reason ORDER BY dead_letters DESC, reason",
            ("reason", "dead_letters"),
            w=12,
        ),
        table(
            "Dead letters by department and reason",
            f"SELECT source, reason, count() AS dead_letters FROM {_DEAD} "
            "GROUP BY source, reason ORDER BY dead_letters DESC, source, reason",
            ("source", "reason", "dead_letters"),
        ),
    ]
    return Dashboard(
        uid=UID,
        title="Credit brain · department data quality",
        folder="cb-city",
        description="How each department reports: volume, dead letters, timeliness, gaps.",
        panels=flow(panels),
    )
