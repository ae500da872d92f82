"""Cases (案件): every warning triaged, owned, disposed of on time (早发现、早处置).

Warnings about one subject that one regulator team owns are gathered into one
case, which takes their highest level, is routed to its team, carries deadlines in
working time and records every step. Pure domain code in event time: the case
desk driver (:mod:`creditbrain.streams.cases`) feeds it warnings, dispositions
from the grid and the passing of time; the API feeds it people's actions.

Modules:

:mod:`.config`
    routing sector × district → team, deadlines per level and sector, the
    objection period.
:mod:`.case`
    the case, its states and dispositions, :func:`~.case.join` (a warning joins),
    :func:`~.case.act` (someone acts), :func:`~.case.mark_overdue` (time passes).
:mod:`.overdue`
    the ``case_overdue`` warning of a case that missed its deadline.
"""

from __future__ import annotations

from creditbrain.alerts.cases.case import (
    CASE_STATES,
    DISPOSITIONS,
    NOT_CASES,
    Action,
    Case,
    CaseAlert,
    CaseError,
    CaseState,
    Disposition,
    Step,
    Transition,
    act,
    breached,
    case_id_of,
    join,
    mark_overdue,
)
from creditbrain.alerts.cases.config import DEFAULT_DEADLINES, CaseConfig, Deadline, Route
from creditbrain.alerts.cases.overdue import overdue_warning

__all__ = [
    "CASE_STATES",
    "DEFAULT_DEADLINES",
    "DISPOSITIONS",
    "NOT_CASES",
    "Action",
    "Case",
    "CaseAlert",
    "CaseConfig",
    "CaseError",
    "CaseState",
    "Deadline",
    "Disposition",
    "Route",
    "Step",
    "Transition",
    "act",
    "breached",
    "case_id_of",
    "join",
    "mark_overdue",
    "overdue_warning",
]
