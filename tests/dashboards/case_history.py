"""Cases for the dashboard history: the warnings sent, gathered and worked as a team would.

Every warning the history sent (``alert_events``) joins its case through the case
logic; then, in case order, most cases are acknowledged after a few hours and
disposed of a few days later, with dispositions in turn (every fourth a false
alarm), and the rest are left alone until the year's end, when they are overdue.
"""

from __future__ import annotations

from datetime import timedelta

from creditbrain.alerts.cases import Case, CaseConfig, Transition, act, join, mark_overdue
from creditbrain.alerts.cases.case import DISPOSITIONS
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.core.workdays import default_calendar
from creditbrain.infra.cases import CASE_COLUMNS, TRANSITION_COLUMNS, case_row, transition_row
from creditbrain.infra.store import Store
from creditbrain.schemas.warnings import WarningEvent
from tests.dashboards.history import END

HOUR = 3_600_000


def fill_cases(store: Store) -> int:
    """Cases from the history's warnings; the number of cases written."""
    config, calendar = CaseConfig(), default_calendar()
    cases: dict[str, Case] = {}
    steps: list[Transition] = []
    bodies = store.query_rows("SELECT body FROM alert_events ORDER BY time, alert_id, type")
    for row in bodies:
        warning = WarningEvent.from_bytes(str(row["body"]))
        team = config.team_for(warning.data.sector, warning.data.district)
        key = f"{warning.data.subject.id}|{team}"
        step = join(cases.get(key), warning, config, calendar)
        if step is None:
            continue
        cases[key] = step.case
        if step.transition is not None:
            steps.append(step.transition)
    end = to_epoch_ms(END - timedelta(seconds=1))
    for n, key in enumerate(sorted(cases)):
        case = cases[key]
        kw = {"actor": "regulator-1", "role": "regulator", "config": config, "calendar": calendar}
        if n % 5 != 4 and case.state == "new":
            acked = act(case, "acknowledge", at=case.raised_at + (1 + n % 7) * HOUR, **kw)  # type: ignore[arg-type]
            disposition = "false_alarm" if n % 4 == 0 else DISPOSITIONS[n % len(DISPOSITIONS)]
            done = act(
                acked.case, "dispose", at=case.raised_at + (20 + n % 90) * HOUR,
                disposition=disposition, **kw,  # type: ignore[arg-type]
            )  # fmt: skip
            steps += [t for t in (acked.transition, done.transition) if t is not None]
            case = done.case
        overdue = mark_overdue(case, end)
        if overdue is not None:
            case = overdue.case
            steps.append(overdue.transition)  # type: ignore[arg-type]
        cases[key] = case
    store.insert_rows("cases", [case_row(c) for c in cases.values()], CASE_COLUMNS)
    store.insert_rows("case_transitions", [transition_row(t) for t in steps], TRANSITION_COLUMNS)
    return len(cases)
