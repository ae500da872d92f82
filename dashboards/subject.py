"""The subject drill-down: one subject's score history with its reasons, records and warnings.

Every score comes with its reasons (event id, kind, effect), so a supervisor who
opens a subject from a warning can see which records made the grade, and when;
and which joint measures departments reported applying to it.
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from creditbrain.dashboards.macros import param
from creditbrain.dashboards.model import Dashboard, Variable, flow
from creditbrain.dashboards.panels import LEVEL_RANK, masked_name, series, stat, table

UID = "cb-subject"

_SUBJECT = f"subject_id = {param('subject_id')}"

#: ``reasons`` JSON ([{event_id, kind, effect}, ...]) as "kind effect, ..." for a table cell.
_REASONS = (
    "arrayStringConcat(arrayMap(r -> concat(JSONExtractString(r, 'kind'), ' ', "
    "toString(JSONExtractInt(r, 'effect'))), JSONExtractArrayRaw(reasons)), ', ')"
)


def subject_drilldown() -> Dashboard:
    """One subject, by id (credit code or person pseudonym)."""
    panels = [
        stat(
            "Score",
            f"SELECT score FROM dash_entity_state WHERE {_SUBJECT}",
            ("score",),
            good_from=650,
        ),
        stat(
            "Grade",
            f"SELECT grade FROM dash_entity_state WHERE {_SUBJECT}",
            ("grade",),
        ),
        stat(
            "Records held",
            f"SELECT uniqExact(event_id) AS records FROM dash_events WHERE {_SUBJECT}",
            ("records",),
        ),
        table(
            "Subject",
            f"SELECT {masked_name()} AS name, subject_type, sector, district, last_event_at "
            f"FROM dash_entity_state WHERE {_SUBJECT}",
            ("name", "subject_type", "sector", "district", "last_event_at"),
            h=4,
        ),
        series(
            "Score history",
            f"SELECT as_of AS time, score FROM dash_scores WHERE {_SUBJECT} ORDER BY time",
            ("time", "score"),
            w=24,
        ),
        table(
            "Score changes and their reasons",
            "SELECT as_of AS time, score, previous_score, grade, cause, event_id, "
            f"{_REASONS} AS reasons FROM dash_scores WHERE {_SUBJECT} "
            "ORDER BY as_of DESC, event_id",
            ("time", "score", "previous_score", "grade", "cause", "event_id", "reasons"),
            w=24,
        ),
        table(
            "Records",
            "SELECT occurred_at AS time, kind, source, sector, district, payload, event_id "
            f"FROM dash_events WHERE {_SUBJECT} ORDER BY occurred_at DESC, event_id LIMIT 200",
            ("time", "kind", "source", "payload", "event_id"),
        ),
        table(
            "Warnings",
            "SELECT event_time AS time, level, rule, status, score, grade, "
            "a.first_event_at AS first_event_at, k.acknowledged_by AS acknowledged_by "
            f"FROM (SELECT * FROM dash_alerts WHERE {_SUBJECT}) AS a "
            "LEFT JOIN (SELECT alert_id, any(acknowledged_by) AS acknowledged_by "
            "FROM dash_alert_acks GROUP BY alert_id) AS k USING alert_id "
            f"ORDER BY {LEVEL_RANK}, event_time DESC, rule",
            ("time", "level", "rule", "status", "acknowledged_by"),
        ),
        table(
            "Measures applied",
            "SELECT measure_id, measure_type, department, decision, decided_at FROM dash_measures "
            f"WHERE {_SUBJECT} ORDER BY decided_at DESC, measure_id, department "
            "LIMIT 1 BY measure_id, department",
            ("measure_id", "measure_type", "department", "decision", "decided_at"),
            w=24,
            h=5,
        ),
    ]
    return Dashboard(
        uid=UID,
        title="Credit brain · subject drill-down",
        folder="cb-supervision",
        description="One subject's score history with reasons, its records and its warnings.",
        variables=(Variable(name="subject_id", label="Subject id"),),
        panels=flow(panels),
    )
