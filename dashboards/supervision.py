"""Views for supervisors: one sector (分级分类监管) and one district's grid (网格).

The sector view answers "which of my subjects need attention, and under which
thresholds": subjects by grade, the warnings, the lowest scores, and the warning
policies in force for the sector (the latest audited ``policy_change`` per scope
that applies), and the warnings each shadow policy set would send beside the live
set's (``dash_shadow_alerts``). The district view is the grid's: every sector in the district, the
warnings sent there, the daily record counts and the systemic anomalies.

Policy changes are read from ``dash_policy_changes`` (the ``audit`` rows with
``action = 'policy_change'``), whose ``details`` hold the
:class:`~creditbrain.alerts.policy_changes.PolicyChange` as JSON (``scope``,
``after``, ``reason``).
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from creditbrain.dashboards.macros import param
from creditbrain.dashboards.model import Dashboard, Panel, Variable, flow
from creditbrain.dashboards.panels import (
    LEVEL_RANK,
    OPEN_ALERTS,
    bars,
    masked_name,
    matches,
    series,
    stat,
    table,
    to_sector,
    to_subject,
)

SECTOR_UID = "cb-sector-supervision"
DISTRICT_UID = "cb-district-grid"

_SECTOR = Variable(
    name="sector", label="Sector", sql="SELECT DISTINCT sector FROM dash_events ORDER BY sector"
)
_DISTRICT_ANY = Variable(
    name="district",
    label="District",
    sql="SELECT DISTINCT district FROM dash_events ORDER BY district",
    include_all=True,
    default="*",
)
_DISTRICT = Variable(
    name="district",
    label="District",
    sql="SELECT DISTINCT district FROM dash_events ORDER BY district",
)
_SECTOR_ANY = Variable(
    name="sector",
    label="Sector",
    sql="SELECT DISTINCT sector FROM dash_events ORDER BY sector",
    include_all=True,
    default="*",
)

_IN_SECTOR = f"sector = {param('sector')} AND {matches('district', 'district')}"
_IN_DISTRICT = f"district = {param('district')} AND {matches('sector', 'sector')}"

_POLICIES = f"""
SELECT scope, max(ts) AS changed_at, argMax(actor, ts) AS changed_by,
       argMax(reason, ts) AS reason,
       if(argMax(after, ts) = 'null', 'defaults', argMax(after, ts)) AS policy
FROM (
    SELECT ts, actor, JSONExtractString(details, 'scope') AS scope,
           JSONExtractString(details, 'reason') AS reason,
           JSONExtractRaw(details, 'after') AS after
    FROM dash_policy_changes
)
WHERE scope IN ('*', concat('sector=', {param("sector")}),
                concat('district=', {param("district")}),
                concat('sector=', {param("sector")}, '|district=', {param("district")}))
   OR ({param("district")} = '*' AND (startsWith(scope, 'district=')
                                OR startsWith(scope, concat('sector=', {param("sector")}, '|'))))
GROUP BY scope
ORDER BY scope
"""

# Each shadow's run beside the live set on the same re-scorings (shadow_alerts): the
# warnings each would send (openings and escalations), as a shadow's report counts them.
_SHADOWS = f"""
SELECT shadow, side, level, rule, count() AS warnings_sent
FROM dash_shadow_alerts
WHERE {_IN_SECTOR} AND sent = 1 AND change IN ('opened', 'escalated')
  AND $__timeFilter(event_time)
GROUP BY shadow, side, level, rule
ORDER BY shadow, rule, level, side
"""


def _subject_panels(where: str) -> list[Panel]:
    """The tiles and grade bars both views open with, for the subjects ``where`` selects."""
    return [
        stat(
            "Subjects",
            f"SELECT count() AS subjects FROM dash_entity_state WHERE {where}",
            ("subjects",),
        ),
        stat(
            "Average score",
            f"SELECT round(avg(score)) AS avg_score FROM dash_entity_state WHERE {where}",
            ("avg_score",),
        ),
        stat(
            "Grade D subjects",
            f"SELECT countIf(grade = 'D') AS grade_d FROM dash_entity_state WHERE {where}",
            ("grade_d",),
            good_until=1,
        ),
        stat(
            "Open warnings",
            f"SELECT count() AS open_warnings FROM {OPEN_ALERTS} WHERE {where}",
            ("open_warnings",),
        ),
        stat(
            "Records in range",
            "SELECT uniqExact(event_id) AS records FROM dash_events "
            f"WHERE {where} AND $__timeFilter(occurred_at)",
            ("records",),
            w=8,
        ),
        bars(
            "Subjects by grade",
            "SELECT grade, count() AS subjects FROM dash_entity_state "
            f"WHERE {where} GROUP BY grade ORDER BY grade",
            ("grade", "subjects"),
        ),
        series(
            "Warning notices by level",
            "SELECT $__timeInterval(time) AS time, level, count() AS notices "
            "FROM dash_alert_events "
            f"WHERE {where} AND $__timeFilter(time) GROUP BY time, level ORDER BY time, level",
            ("time", "level", "notices"),
            w=16,
        ),
        table(
            "Open warnings",
            f"SELECT event_time AS time, level, rule, status, {masked_name()} AS name, "
            f"subject_id, district, sector, score, grade FROM {OPEN_ALERTS} "
            f"WHERE {where} ORDER BY {LEVEL_RANK}, event_time DESC, subject_id, rule LIMIT 100",
            ("time", "level", "rule", "status", "name", "subject_id", "district", "sector"),
            w=24,
            links=(to_subject(), to_sector()),
        ),
    ]


def sector_supervision() -> Dashboard:
    """One sector's subjects, warnings and the thresholds in force."""
    panels = [
        *_subject_panels(_IN_SECTOR),
        table(
            "Lowest scores",
            f"SELECT {masked_name()} AS name, subject_id, subject_type, "
            "district, score, grade, records FROM dash_entity_state "
            f"WHERE {_IN_SECTOR} ORDER BY score, subject_id LIMIT 25",
            ("name", "subject_id", "subject_type", "district", "score", "grade", "records"),
            links=(to_subject(),),
        ),
        bars(
            "Records by kind",
            "SELECT kind, uniqExact(event_id) AS records FROM dash_events "
            f"WHERE {_IN_SECTOR} AND $__timeFilter(occurred_at) "
            "GROUP BY kind ORDER BY records DESC, kind",
            ("kind", "records"),
            w=12,
        ),
        table(
            "Warning thresholds in force (audited policy changes)",
            _POLICIES,
            ("scope", "changed_at", "changed_by", "reason", "policy"),
            w=24,
            h=6,
        ),
        table(
            "Live and shadow policies: warnings sent",
            _SHADOWS,
            ("shadow", "side", "level", "rule", "warnings_sent"),
            w=24,
            h=8,
        ),
    ]
    return Dashboard(
        uid=SECTOR_UID,
        title="Credit brain · sector supervision",
        folder="cb-supervision",
        description="Subjects by grade, warnings and thresholds in force for one sector.",
        variables=(_SECTOR, _DISTRICT_ANY),
        panels=flow(panels),
    )


def district_grid() -> Dashboard:
    """One district: its sectors, warnings, daily records and anomalies."""
    panels = [
        *_subject_panels(_IN_DISTRICT),
        table(
            "Sectors in the district",
            "SELECT sector, district, count() AS subjects, round(avg(score)) AS avg_score, "
            "countIf(grade = 'D') AS grade_d, countIf(grade = 'A') AS grade_a "
            f"FROM dash_entity_state WHERE {_IN_DISTRICT} GROUP BY sector, district "
            "ORDER BY grade_d DESC, sector",
            ("sector", "district", "subjects", "avg_score", "grade_d", "grade_a"),
            links=(to_sector(),),
        ),
        series(
            "Daily records by kind",
            "SELECT toDateTime(day) AS time, kind, sum(events) AS records FROM dash_metric_counts "
            f"WHERE {_IN_DISTRICT} AND day >= toDate($__fromTime) AND day <= toDate($__toTime) "
            "GROUP BY time, kind ORDER BY time, kind",
            ("time", "kind", "records"),
        ),
        table(
            "Warning notices sent to the grid",
            "SELECT time, level, type, rule, subject_id, sector, district FROM dash_alert_events "
            f"WHERE {_IN_DISTRICT} AND $__timeFilter(time) "
            "ORDER BY time DESC, subject_id, rule, type LIMIT 100",
            ("time", "level", "type", "rule", "subject_id", "sector"),
            links=(to_subject(), to_sector()),
        ),
        table(
            "Systemic anomalies in the district",
            "SELECT day, sector, district, kind, value, round(anomaly_score, 3) AS anomaly_score "
            f"FROM dash_metric_anomalies WHERE {_IN_DISTRICT} "
            "AND day >= toDate($__fromTime) AND day <= toDate($__toTime) "
            "ORDER BY anomaly_score DESC, day DESC, sector, kind LIMIT 50",
            ("day", "sector", "kind", "value", "anomaly_score"),
            links=(to_sector(),),
        ),
    ]
    return Dashboard(
        uid=DISTRICT_UID,
        title="Credit brain · district grid",
        folder="cb-supervision",
        description="One district's sectors, warnings sent to its grid, records and anomalies.",
        variables=(_DISTRICT, _SECTOR_ANY),
        panels=flow(panels),
    )
