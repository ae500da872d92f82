"""Cases in ClickHouse: ``cases`` (latest state by version) and ``case_transitions``.

:class:`CaseRepository` loads a case, saves a :class:`~creditbrain.alerts.cases.Step`
(the case row and its transition in the same call) and finds the cases whose
deadlines event time has passed. The stream's case desk and the API both go through
it; a case row is replaced by the higher version (ReplacingMergeTree), and reads use
``FINAL``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import orjson

from creditbrain.alerts.cases import Case, CaseAlert, Step, Transition
from creditbrain.core.eventtime import from_epoch_ms, to_epoch_ms
from creditbrain.infra.store import Store

CASE_COLUMNS = (
    "case_id", "subject_id", "subject_type", "subject_name", "sector", "district", "team",
    "level", "state", "disposition", "alerts", "rules", "score", "grade", "opened_at",
    "raised_at", "acknowledged_at", "disposed_at", "acknowledge_due", "dispose_due", "round",
    "overdue_alert_id", "overdue_at", "requests", "version",
)  # fmt: skip
TRANSITION_COLUMNS = (
    "case_id", "version", "event", "from_state", "to_state", "disposition", "actor", "role",
    "note", "attachments", "request_id", "at",
)  # fmt: skip
_SELECT = ", ".join(CASE_COLUMNS)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else from_epoch_ms(ms)


def _ms(value: object) -> int | None:
    return to_epoch_ms(value) if isinstance(value, datetime) else None


def case_row(case: Case) -> dict[str, object]:
    """The ``cases`` row of ``case``."""
    alerts = [
        {"alert_id": a.alert_id, "rule": a.rule, "level": a.level, "status": a.status}
        for a in case.alerts
    ]
    return {
        "case_id": case.case_id, "subject_id": case.subject_id,
        "subject_type": case.subject_type, "subject_name": case.subject_name,
        "sector": case.sector, "district": case.district, "team": case.team,
        "level": case.level, "state": case.state, "disposition": case.disposition or "",
        "alerts": orjson.dumps(alerts).decode(),
        "rules": sorted({a.rule for a in case.alerts}), "score": case.score,
        "grade": case.grade, "opened_at": _time(case.opened_at),
        "raised_at": _time(case.raised_at), "acknowledged_at": _time(case.acknowledged_at),
        "disposed_at": _time(case.disposed_at), "acknowledge_due": _time(case.acknowledge_due),
        "dispose_due": _time(case.dispose_due), "round": case.round,
        "overdue_alert_id": case.overdue_alert_id, "overdue_at": _time(case.overdue_at),
        "requests": list(case.requests), "version": case.version,
    }  # fmt: skip


def case_of(row: Mapping[str, object]) -> Case:
    """A ``cases`` row back as a :class:`Case`."""
    alerts = tuple(
        CaseAlert(str(a["alert_id"]), str(a["rule"]), a["level"], str(a["status"]))
        for a in orjson.loads(str(row["alerts"]))
    )
    requests = row["requests"] if isinstance(row["requests"], Sequence) else ()
    return Case(
        case_id=str(row["case_id"]), subject_id=str(row["subject_id"]),
        subject_type=str(row["subject_type"]), subject_name=str(row["subject_name"]),
        sector=str(row["sector"]), district=str(row["district"]), team=str(row["team"]),
        level=row["level"],  # type: ignore[arg-type]
        state=row["state"],  # type: ignore[arg-type]
        disposition=row["disposition"] or None,  # type: ignore[arg-type]
        alerts=alerts, score=int(str(row["score"])), grade=str(row["grade"]),
        opened_at=_ms(row["opened_at"]) or 0, raised_at=_ms(row["raised_at"]) or 0,
        acknowledged_at=_ms(row["acknowledged_at"]), disposed_at=_ms(row["disposed_at"]),
        acknowledge_due=_ms(row["acknowledge_due"]) or 0,
        dispose_due=_ms(row["dispose_due"]) or 0, round=int(str(row["round"])),
        overdue_alert_id=str(row["overdue_alert_id"]), overdue_at=_ms(row["overdue_at"]),
        requests=tuple(str(r) for r in requests), version=int(str(row["version"])),
    )  # fmt: skip


def transition_row(transition: Transition) -> dict[str, object]:
    """The ``case_transitions`` row of ``transition``."""
    return {
        "case_id": transition.case_id, "version": transition.version,
        "event": transition.event, "from_state": transition.from_state,
        "to_state": transition.to_state, "disposition": transition.disposition or "",
        "actor": transition.actor, "role": transition.role, "note": transition.note,
        "attachments": list(transition.attachments), "request_id": transition.request_id,
        "at": from_epoch_ms(transition.at),
    }  # fmt: skip


class CaseRepository:
    """Cases in a store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, case_id: str) -> Case | None:
        """The case's latest state, or ``None``."""
        rows = self.store.query_rows(
            f"SELECT {_SELECT} FROM cases FINAL WHERE case_id = {{id:String}} LIMIT 1",  # noqa: S608 - fixed columns
            {"id": case_id},
        )
        return case_of(rows[0]) if rows else None

    def save(self, step: Step) -> None:
        """Store the case after ``step`` and its transition (when it has one)."""
        self.store.insert_rows("cases", [case_row(step.case)], CASE_COLUMNS)
        if step.transition is not None:
            self.store.insert_rows(
                "case_transitions", [transition_row(step.transition)], TRANSITION_COLUMNS
            )

    def due_before(self, now_ms: int) -> list[Case]:
        """Open cases with a deadline before ``now_ms`` and no overdue notice this round."""
        rows = self.store.query_rows(
            f"SELECT {_SELECT} FROM cases FINAL WHERE state != 'disposed' "  # noqa: S608 - fixed columns
            "AND overdue_alert_id = '' AND (dispose_due < {now:DateTime64(3, 'UTC')} "
            "OR (state = 'new' AND acknowledge_due < {now:DateTime64(3, 'UTC')}))",
            {"now": from_epoch_ms(now_ms)},
        )
        return [case_of(row) for row in rows]

    def transitions(self, case_id: str) -> list[dict[str, object]]:
        """The case's history, oldest first."""
        return self.store.query_rows(
            f"SELECT {', '.join(TRANSITION_COLUMNS)} FROM case_transitions FINAL "  # noqa: S608
            "WHERE case_id = {id:String} ORDER BY version",
            {"id": case_id},
        )
