"""The city overview, the "credit brain" (城市信用大脑): the plan's targets and the city's risk.

The first row measures the 14th Five-Year plan's 2025 targets (DOMAIN.md) that the
store can measure, each as a tile coloured by whether it is met, and all of them in
one table. Below: how grades are distributed and how that changes, where the open
warnings are, a grid of the districts, the subjects whose scores fell most, the
systemic (metric) anomalies and the latest red warnings.
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

from creditbrain.dashboards.model import Dashboard, flow
from creditbrain.dashboards.panels import (
    LEGAL_PERSON_TYPES,
    LEVEL_RANK,
    OPEN_ALERTS,
    WORKING_DAYS,
    bars,
    masked_name,
    pie,
    series,
    stat,
    table,
    to_district,
    to_sector,
    to_subject,
)
from creditbrain.schemas.reference import PLAN_SECTOR_TARGET

UID = "cb-city-overview"


@dataclass(frozen=True)
class Indicator:
    """One of the plan's targets: how to measure it (a one-row ``value``) and the bar.

    ``value`` is NULL when the store cannot measure it yet (no registry count
    configured, no measure reported): the tile then says so instead of a number.
    """

    name: str
    target: str
    sql: str
    unit: str
    definition: str
    good_from: float | None = None
    good_until: float | None = None

    def met_sql(self) -> str:
        """SQL of whether ``value`` meets the target."""
        if self.good_from is not None:
            return f"value >= {self.good_from}"
        return f"value < {self.good_until}"


_ALL_INPUTS = (
    "(SELECT uniqExact(event_id) FROM dash_events WHERE reported_at <= $__toTime)"
    " + (SELECT count() FROM dash_dlq WHERE resolution = '')"
)
_YEAR = "decided_at > $__toTime - INTERVAL 1 YEAR AND decided_at <= $__toTime"


def _coverage(types: str) -> str:
    """Subjects of ``types`` with a current evaluation ÷ those the registry counts."""
    return (
        "SELECT round(100 * (SELECT count() FROM dash_entity_state WHERE subject_type IN "
        f"{types} AND last_event_at <= $__toTime) / nullIf((SELECT sum(registered) FROM "
        f"dash_subject_registry WHERE subject_type IN {types}), 0), 2) AS value"
    )


_COVERAGE = (
    "Subjects with a current evaluation ÷ subjects of that type in the registry "
    "(subject_registry, configured by the deployment)."
)

INDICATORS = (
    Indicator(
        "Coverage of enterprises",
        "100 %",
        _coverage("('enterprise')"),
        "percent",
        _COVERAGE,
        good_from=100,
    ),
    Indicator(
        "Coverage of non-enterprise legal persons",
        "100 %",
        _coverage("('non_enterprise')"),
        "percent",
        _COVERAGE,
        good_from=100,
    ),
    Indicator(
        "Coverage of persons",
        "100 %",
        _coverage("('person')"),
        "percent",
        _COVERAGE,
        good_from=100,
    ),
    Indicator(
        "Credit records held",
        "> 1,000,000,000",
        "SELECT uniqExact(event_id) AS value FROM dash_events WHERE occurred_at <= $__toTime",
        "locale",
        "Accepted records (events), each once.",
        good_from=1_000_000_000,
    ),
    Indicator(
        "Erroneous credit code rate",
        "< 0.005 %",
        "SELECT round(100 * (SELECT count() FROM dash_dlq WHERE resolution = '' AND reason IN "
        f"('bad_credit_code', 'bad_person_id')) / greatest(1, {_ALL_INPUTS}), 4) AS value",
        "percent",
        "Dead letters for a bad credit code or identity number ÷ all inputs.",
        good_until=0.005,
    ),
    Indicator(
        "Evaluation coverage of legal persons",
        "100 %",
        _coverage(LEGAL_PERSON_TYPES),
        "percent",
        _COVERAGE,
        good_from=100,
    ),
    Indicator(
        "Joint measures applied",
        "100 %",
        "SELECT round(100 * countIf(decision = 'applied') / nullIf(count(), 0), 2) AS value "
        "FROM (SELECT argMax(decision, decided_at) AS decision FROM dash_measures "
        f"WHERE {_YEAR} GROUP BY measure_id, subject_id, department)",
        "percent",
        "Reported measures (measures applied) whose latest decision is applied ÷ all reported.",
        good_from=100,
    ),
    Indicator(
        "Credit checks this year",
        "> 1,000,000 a year",
        "SELECT count() AS value FROM dash_credit_checks "
        "WHERE ts >= toStartOfYear($__toTime) AND ts <= $__toTime",
        "locale",
        "Audited credit checks since 1 January.",
        good_from=1_000_000,
    ),
    Indicator(
        "信易+ scenarios",
        "> 50",
        "SELECT uniqExact(measure_id) AS value FROM dash_measures "
        f"WHERE measure_type = 'reward' AND decision = 'applied' AND {_YEAR}",
        "locale",
        "Distinct reward measures departments applied in the last year.",
        good_from=51,
    ),
    Indicator(
        "Sectors under credit supervision",
        "42 sectors",
        "SELECT uniqExact(sector) AS value FROM dash_events WHERE occurred_at <= $__toTime",
        "locale",
        "Sectors with records.",
        good_from=PLAN_SECTOR_TARGET,
    ),
    Indicator(
        "Reported within 7 working days",
        "100 %",
        "SELECT round(100 * countIf(working_days <= 7) / nullIf(count(), 0), 2) AS value "
        f"FROM (SELECT {WORKING_DAYS} AS working_days FROM dash_events "
        "WHERE $__timeFilter(occurred_at))",
        "percent",
        "双公示: records reported within 7 working days of the decision ÷ all records.",
        good_from=100,
    ),
)


def _targets_table() -> str:
    parts = [
        f"SELECT {index} AS n, '{i.name}' AS indicator, '{i.target}' AS target, "
        "toNullable(toFloat64(value)) AS measured, "
        f"multiIf(value IS NULL, 'not measured', {i.met_sql()}, 'met', 'not yet') AS status "
        f"FROM ({i.sql})"
        for index, i in enumerate(INDICATORS)
    ]
    union = "\nUNION ALL\n".join(parts)
    return f"SELECT indicator, target, measured, status FROM (\n{union}\n) ORDER BY n"


_GRADE_TREND = """
SELECT time, grade, subjects FROM (
    SELECT time, grade, sum(delta) OVER (PARTITION BY grade ORDER BY time) AS subjects
    FROM (
        SELECT $__timeInterval(as_of) AS time, grade, sum(delta) AS delta FROM (
            SELECT as_of, grade, 1 AS delta FROM dash_scores WHERE as_of <= $__toTime
            UNION ALL
            SELECT as_of, previous_grade AS grade, -1 AS delta FROM dash_scores
            WHERE as_of <= $__toTime AND previous_grade != ''
        )
        GROUP BY time, grade
    )
)
WHERE time >= toStartOfInterval($__fromTime, INTERVAL 1 day)
ORDER BY time, grade
"""

_DISTRICT_GRID = f"""
SELECT district, subjects, avg_score, grade_d,
       records, open_warnings, red_warnings
FROM (
    SELECT district, count() AS subjects, round(avg(score)) AS avg_score,
           countIf(grade = 'D') AS grade_d
    FROM dash_entity_state GROUP BY district
) AS s
LEFT JOIN (
    SELECT district, uniqExact(event_id) AS records FROM dash_events
    WHERE $__timeFilter(occurred_at) GROUP BY district
) AS e USING district
LEFT JOIN (
    SELECT district, count() AS open_warnings, countIf(level = 'red') AS red_warnings
    FROM {OPEN_ALERTS} GROUP BY district
) AS a USING district
ORDER BY district
"""

_DETERIORATING = f"""
SELECT subject_id, name, sector, district, score_before, score_now, grade,
       toInt32(score_before) - toInt32(score_now) AS score_drop
FROM (
    SELECT subject_id, argMin(coalesce(previous_score, score), as_of) AS score_before,
           argMax(score, as_of) AS score_now, argMax(grade, as_of) AS grade
    FROM dash_scores WHERE $__timeFilter(as_of) GROUP BY subject_id
) AS d
LEFT JOIN (
    SELECT subject_id, {masked_name()} AS name, sector, district FROM dash_entity_state
) AS n USING subject_id
WHERE score_before > score_now
ORDER BY score_drop DESC, subject_id
LIMIT 15
"""


def city_overview() -> Dashboard:
    """The city overview dashboard."""
    tiles = [
        stat(
            i.name,
            i.sql,
            ("value",),
            w=24 // 6 if index < 6 else 24 // 5 + (1 if index - 6 < 24 % 5 else 0),
            unit=i.unit,
            description=i.definition,
            target=i.target,
            good_from=i.good_from,
            good_until=i.good_until,
        )
        for index, i in enumerate(INDICATORS)
    ]
    panels = [
        *tiles,
        table(
            "The plan's targets against their measures",
            _targets_table(),
            ("indicator", "target", "measured", "status"),
            w=10,
        ),
        pie(
            "Grades now",
            "SELECT grade, count() AS subjects FROM dash_entity_state "
            "WHERE last_event_at <= $__toTime GROUP BY grade ORDER BY grade",
            ("grade", "subjects"),
        ),
        series(
            "Subjects per grade over time",
            _GRADE_TREND,
            ("time", "grade", "subjects"),
            w=8,
        ),
        bars(
            "Open warnings by level",
            f"SELECT level, count() AS open_warnings FROM {OPEN_ALERTS} "
            f"GROUP BY level ORDER BY {LEVEL_RANK}",
            ("level", "open_warnings"),
        ),
        bars(
            "Open warnings by sector",
            f"SELECT sector, count() AS open_warnings FROM {OPEN_ALERTS} "
            "GROUP BY sector ORDER BY open_warnings DESC, sector LIMIT 12",
            ("sector", "open_warnings"),
            links=(to_sector("sector", None),),
        ),
        bars(
            "Open warnings by district",
            f"SELECT district, count() AS open_warnings "
            f"FROM {OPEN_ALERTS} GROUP BY district ORDER BY district",
            ("district", "open_warnings"),
            links=(to_district(),),
        ),
        series(
            "Records received",
            "SELECT $__timeInterval(occurred_at) AS time, uniqExact(event_id) AS records "
            "FROM dash_events WHERE $__timeFilter(occurred_at) GROUP BY time ORDER BY time",
            ("time", "records"),
        ),
        series(
            "Warning notices by level",
            "SELECT $__timeInterval(time) AS time, level, count() AS notices "
            "FROM dash_alert_events "
            "WHERE $__timeFilter(time) GROUP BY time, level ORDER BY time, level",
            ("time", "level", "notices"),
        ),
        table(
            "District grid",
            _DISTRICT_GRID,
            (
                "district",
                "subjects",
                "avg_score",
                "grade_d",
                "records",
                "open_warnings",
                "red_warnings",
            ),
            w=24,
            h=7,
            links=(to_district(),),
        ),
        table(
            "Top deteriorating subjects",
            _DETERIORATING,
            ("name", "subject_id", "sector", "score_before", "score_now", "score_drop"),
            links=(to_subject(), to_sector()),
        ),
        table(
            "Systemic anomalies (sector × district × kind)",
            "SELECT day, sector, district, kind, value, "
            "round(anomaly_score, 3) AS anomaly_score FROM dash_metric_anomalies "
            "WHERE day >= toDate($__fromTime) AND day <= toDate($__toTime) "
            "ORDER BY anomaly_score DESC, day DESC, sector, district, kind LIMIT 20",
            ("day", "sector", "district", "kind", "value", "anomaly_score"),
            links=(to_sector(), to_district()),
        ),
        table(
            "Recent red warnings",
            f"SELECT event_time AS time, {masked_name()} AS name, subject_id, rule, status, "
            "sector, district, score, grade FROM dash_alerts "
            "WHERE level = 'red' AND $__timeFilter(event_time) "
            "ORDER BY event_time DESC, subject_id, rule LIMIT 20",
            ("time", "name", "subject_id", "rule", "status", "sector", "district"),
            w=24,
            links=(to_subject(), to_sector(), to_district()),
        ),
    ]
    return Dashboard(
        uid=UID,
        title="Credit brain · city overview",
        folder="cb-city",
        description="The plan's targets against their measures, and the city's credit risk.",
        panels=flow(panels),
    )
