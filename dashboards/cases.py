"""The loop closed (早发现、早处置): how fast cases are acknowledged and disposed of.

For leadership and supervisors: open and overdue cases, the working of the loop by
level, district and sector (hours from a case's opening to its acknowledgement and
to its disposal, as event time records them), the overdue cases themselves, and the
share of false alarms by rule. A rule whose disposed cases are mostly false alarms
is a threshold to revisit (the sector supervision board shows the thresholds in
force); the panel's description points to the policy preview that tries a change
on history first (:data:`REVISIT`). Cases come from the ``dash_cases`` view (the
latest version of each); a case counts in the time range when it was opened in it.
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from creditbrain.dashboards.model import Dashboard, Panel, Variable, flow
from creditbrain.dashboards.panels import (
    LEVEL_RANK,
    bars,
    matches,
    stat,
    table,
    to_district,
    to_subject,
)

CASES_UID = "cb-case-loop"

_SECTOR_ANY = Variable(
    name="sector",
    label="Sector",
    sql="SELECT DISTINCT sector FROM dash_cases ORDER BY sector",
    include_all=True,
    default="*",
)
_DISTRICT_ANY = Variable(
    name="district",
    label="District",
    sql="SELECT DISTINCT district FROM dash_cases ORDER BY district",
    include_all=True,
    default="*",
)

_WHERE = f"{matches('sector', 'sector')} AND {matches('district', 'district')}"
_IN_RANGE = f"{_WHERE} AND $__timeFilter(opened_at)"
#: Hours from opening to acknowledgement and to disposal; NULL while not done.
_TIMES = (
    "round(avgIf(dateDiff('second', opened_at, acknowledged_at), acknowledged_at IS NOT NULL)"
    " / 3600, 1) AS hours_to_acknowledge, "
    "round(avgIf(dateDiff('second', opened_at, disposed_at), state = 'disposed') / 3600, 1) "
    "AS hours_to_dispose, "
    "count() AS cases, countIf(state = 'disposed') AS disposed, "
    "countIf(overdue_alert_id != '') AS overdue"
)
#: What to do about a rule that is mostly false alarms: try a change before making it.
REVISIT = (
    "A rule whose disposed cases are mostly false alarms is a threshold to revisit: try the "
    "change on the stored history first with the policy preview (POST /policies/preview, "
    'docs/api.md "Trying a change") or creditbrain backtest --compare, then change it with '
    "PUT /policies/{scope}."
)
_LOOP_COLUMNS = ("hours_to_acknowledge", "hours_to_dispose", "cases", "disposed", "overdue")


def _by(expression: str, alias: str, title: str, order: str) -> Panel:
    return table(
        f"Time to acknowledge and dispose by {title}",
        f"SELECT {expression} AS {alias}, {_TIMES} FROM dash_cases WHERE {_IN_RANGE} "
        f"GROUP BY {alias} ORDER BY {order}",
        (alias, *_LOOP_COLUMNS),
        w=8,
    )


def case_loop() -> Dashboard:
    """Cases: open, overdue, time to act by level, district and sector, false alarms by rule."""
    panels = [
        stat(
            "Open cases",
            f"SELECT countIf(state != 'disposed') AS open_cases FROM dash_cases WHERE {_WHERE}",
            ("open_cases",),
        ),
        stat(
            "Overdue cases",
            "SELECT countIf(state != 'disposed' AND overdue_alert_id != '') AS overdue_cases "
            f"FROM dash_cases WHERE {_WHERE}",
            ("overdue_cases",),
            good_until=1,
        ),
        stat(
            "Cases opened in range",
            f"SELECT count() AS opened FROM dash_cases WHERE {_IN_RANGE}",
            ("opened",),
        ),
        stat(
            "Disposed in range",
            f"SELECT countIf(state = 'disposed') AS disposed FROM dash_cases WHERE {_IN_RANGE}",
            ("disposed",),
        ),
        stat(
            "False alarms among disposals",
            "SELECT round(100 * countIf(disposition = 'false_alarm') / greatest(1, "
            "countIf(state = 'disposed')), 1) AS false_alarm_pct "
            f"FROM dash_cases WHERE {_IN_RANGE}",
            ("false_alarm_pct",),
            w=8,
        ),
        _by("level", "level", "level", LEVEL_RANK),
        _by("district", "district", "district", "district"),
        _by("sector", "sector", "sector", "cases DESC, sector"),
        bars(
            "False-alarm share by rule (disposed cases holding the rule)",
            "SELECT rule, round(100 * countIf(disposition = 'false_alarm') / count(), 1) "
            "AS false_alarm_pct, count() AS disposed FROM dash_cases ARRAY JOIN rules AS rule "
            f"WHERE state = 'disposed' AND {_IN_RANGE} GROUP BY rule "
            "ORDER BY false_alarm_pct DESC, rule",
            ("rule", "false_alarm_pct", "disposed"),
            w=12,
            description=REVISIT,
        ),
        table(
            "Disposals by disposition",
            "SELECT disposition, count() AS cases FROM dash_cases "
            f"WHERE state = 'disposed' AND {_IN_RANGE} GROUP BY disposition ORDER BY cases DESC",
            ("disposition", "cases"),
        ),
        table(
            "Overdue cases",
            "SELECT overdue_at, level, state, team, subject_name, subject_id, sector, "
            f"district, acknowledge_due, dispose_due, case_id "
            f"FROM dash_cases WHERE overdue_alert_id != '' AND state != 'disposed' AND {_WHERE} "
            f"ORDER BY {LEVEL_RANK}, overdue_at LIMIT 100",
            (
                "overdue_at",
                "level",
                "state",
                "team",
                "subject_id",
                "district",
                "dispose_due",
                "case_id",
            ),
            w=24,
            links=(to_subject(), to_district()),
        ),
    ]
    return Dashboard(
        uid=CASES_UID,
        title="Credit brain · cases and disposal",
        folder="cb-supervision",
        description="Time to acknowledge and dispose of cases, overdue cases, false alarms by "
        "rule.",
        variables=(_SECTOR_ANY, _DISTRICT_ANY),
        panels=flow(panels),
    )
