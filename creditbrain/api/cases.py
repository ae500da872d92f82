"""``/cases``: the warnings' cases, their transitions, bulk actions and grid reports.

Scoped like ``/alerts``: a supervisor sees and acts on the cases of their sectors
and districts, the grid governance system only cases holding a warning its policy
routes to it, leadership reads. Every action is stored as a transition of the case
and audited (``case_<action>``). ``POST /cases/dispositions`` takes the same report
as the ``credit.dispositions`` topic, applied once per report id. The time of an
action is when the API receives it; the case logic itself reads no clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from creditbrain.alerts.cases import (
    Action,
    Case,
    CaseConfig,
    CaseError,
    CaseState,
    Disposition,
    Step,
    act,
)
from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.rules import RULE_NAMES
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.pages import (
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    link_next,
    moment_of,
)
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.responses import problem_responses
from creditbrain.core.eventtime import from_epoch_ms, to_epoch_ms
from creditbrain.core.workdays import WorkCalendar
from creditbrain.infra.cases import CASE_COLUMNS, CaseRepository, case_of
from creditbrain.infra.store import Store
from creditbrain.runtime.cases import work_calendar
from creditbrain.schemas.dispositions import DispositionEvent
from creditbrain.schemas.warnings import Level, mask_person_name

router = APIRouter(prefix="/cases", tags=["cases"], route_class=FiniteJsonRoute)

#: A case id in a path: what the case desk makes is far shorter.
CaseId = Annotated[str, PathParam(max_length=128)]
#: Rows scanned per page for the grid, whose routing drops some after the query.
_GRID_OVERFETCH = 4

_READ = Allow("regulator", "supervisor", "leadership", "grid", "admin")
_ACT = Allow("regulator", "supervisor", "grid", "admin")
_Attachment = Annotated[str, Field(min_length=1, max_length=500)]


class CaseView(BaseModel):
    """A case as the API shows it; times in UTC."""

    case_id: str
    subject_id: str
    subject_type: str
    subject_name: str
    sector: str
    district: str
    team: str
    level: Level
    state: CaseState
    disposition: Disposition | None
    alert_ids: list[str]
    rules: list[str]
    opened_at: datetime
    raised_at: datetime
    acknowledged_at: datetime | None
    disposed_at: datetime | None
    acknowledge_due: datetime
    dispose_due: datetime
    overdue: bool
    round: int
    version: int


class TransitionView(BaseModel):
    """One stored step of a case."""

    version: int
    event: str
    from_state: str
    to_state: str
    disposition: str
    actor: str
    role: str
    note: str
    attachments: list[str]
    at: datetime


class CaseDetail(CaseView):
    """A case with its history."""

    transitions: list[TransitionView]


class ActionRequest(BaseModel):
    """An action on a case; ``request_id`` makes a retried request apply once."""

    action: Action
    disposition: Disposition | None = None
    note: str = Field(default="", max_length=2000)
    attachments: list[_Attachment] = Field(default_factory=list, max_length=20)
    request_id: str = Field(default="", max_length=128)


class BulkRequest(ActionRequest):
    """The same action on a list of cases."""

    case_ids: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=500)


class BulkResult(BaseModel):
    """What became of each case of a bulk action: its view, or why it was refused."""

    case_id: str
    ok: bool
    detail: str = ""
    case: CaseView | None = None


def view(case: Case) -> CaseView:
    """The API's view of ``case``; ``overdue`` once the case desk noticed a breach (event time)."""

    def utc(ms: int | None) -> datetime | None:
        return None if ms is None else from_epoch_ms(ms)

    return CaseView(
        case_id=case.case_id, subject_id=case.subject_id, subject_type=case.subject_type,
        subject_name=case.subject_name, sector=case.sector, district=case.district,
        team=case.team, level=case.level, state=case.state, disposition=case.disposition,
        alert_ids=[a.alert_id for a in case.alerts],
        rules=sorted({a.rule for a in case.alerts}),
        opened_at=from_epoch_ms(case.opened_at), raised_at=from_epoch_ms(case.raised_at),
        acknowledged_at=utc(case.acknowledged_at), disposed_at=utc(case.disposed_at),
        acknowledge_due=from_epoch_ms(case.acknowledge_due),
        dispose_due=from_epoch_ms(case.dispose_due),
        overdue=bool(case.overdue_alert_id),
        round=case.round, version=case.version,
    )  # fmt: skip


@lru_cache(maxsize=4)
def _config(path: Path | None) -> CaseConfig:
    return CaseConfig.load(path) if path is not None else CaseConfig()


def _setup(context: ApiContext) -> tuple[CaseConfig, WorkCalendar]:
    settings = context.settings
    return _config(settings.cases.config_file), work_calendar(settings)


def _routed_to_grid(policies: PolicySet, case: Case) -> bool:
    return any(
        policies.resolve(a.rule, case.sector, case.district).grid
        for a in case.alerts
        if a.rule in RULE_NAMES
    )


def _for_grid(policies: PolicySet, case: Case) -> Case:
    """The grid's copy of a person's case: the name masked unless a routed rule reveals it."""
    if case.subject_type != "person":
        return case
    reveal = any(
        policies.resolve(a.rule, case.sector, case.district).reveal_person_names
        for a in case.alerts
        if a.rule in RULE_NAMES
    )
    return case if reveal else replace(case, subject_name=mask_person_name(case.subject_name))


def _shown(principal: Principal, context: ApiContext, case: Case) -> CaseView:
    """The view of ``case`` for ``principal`` (the grid sees persons' names masked)."""
    if principal.role == "grid":
        case = _for_grid(context.policies(), case)
    return view(case)


def _visible(principal: Principal, context: ApiContext, case: Case) -> bool:
    if not principal.covers(case.sector, case.district):
        return False
    return principal.role != "grid" or _routed_to_grid(context.policies(), case)


def _now_ms() -> int:
    return to_epoch_ms(datetime.now(UTC))


class CasePage(BaseModel):
    """A page of cases, most recently raised first; ``next`` links the following page."""

    items: list[CaseView]
    next: str | None = None


@router.get("", response_model=CasePage, responses=problem_responses(503))
def list_cases(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(_READ)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
    state: CaseState | None = None,
    level: Level | None = None,
    team: Annotated[str | None, Query(max_length=128)] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=16)] = None,
    overdue: bool | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> CasePage:
    """Cases, most recently raised first; supervisors within scope, the grid its own.

    Keyset pages on ``raised_at DESC, case_id``, like ``/alerts``: a page of the
    grid may be short (its routing drops cases after the query); only a missing
    ``next`` ends the list.
    """
    filters: dict[str, object] = {
        "state": state, "level": level, "team": team, "sector": sector,
        "district": district, "overdue": overdue,
    }  # fmt: skip
    where: list[str] = ["1"]
    params: dict[str, object] = {}
    for column, value in filters.items():
        if value is not None and column != "overdue":
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if overdue is not None:
        where.append("overdue_alert_id != ''" if overdue else "overdue_alert_id = ''")
    principal.restrict(where, params)
    if cursor is not None:
        after = decode_cursor(cursor, filters, (int, str))
        where.append(
            "(raised_at < {after_time:DateTime64(3, 'UTC')} OR "
            "(raised_at = {after_time:DateTime64(3, 'UTC')} AND case_id > {after_id:String}))"
        )
        params |= {"after_time": moment_of(int(after[0])), "after_id": str(after[1])}
    grid = principal.role == "grid"
    # One row beyond the page tells whether another page follows.
    params["fetch"] = limit * (_GRID_OVERFETCH if grid else 1) + 1
    rows = store.query_rows(
        f"SELECT {', '.join(CASE_COLUMNS)} FROM cases FINAL WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments, values bound
        "ORDER BY raised_at DESC, case_id LIMIT {fetch:UInt32}",
        params,
    )
    scanned = [case_of(row) for row in rows]
    more = len(scanned) == params["fetch"]
    if grid:
        policies = context.policies()
        shown = []
        for index, case in enumerate(scanned):
            if _routed_to_grid(policies, case):
                shown.append(_for_grid(policies, case))
            if len(shown) == limit:
                more = more or index < len(scanned) - 1
                scanned = scanned[: index + 1]
                break
    else:
        shown = scanned[:limit]
        scanned = shown
    token = None
    if more and scanned:
        last = scanned[-1]
        token = encode_cursor([last.raised_at, last.case_id], filters)
    return CasePage(
        items=[view(case) for case in shown], next=link_next(request, response, token, limit)
    )


def _visible_case(
    case_id: str, principal: Principal, context: ApiContext, repo: CaseRepository
) -> Case:
    case = repo.get(case_id)
    if case is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such case")
    if not principal.covers(case.sector, case.district):
        raise out_of_scope()
    if not _visible(principal, context, case):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this case is not routed to the grid")
    return case


@router.get("/{case_id}", response_model=CaseDetail, responses=problem_responses(404, 503))
def get_case(
    case_id: CaseId,
    principal: Annotated[Principal, Depends(_READ)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> CaseDetail:
    """One case and every transition it went through."""
    repo = CaseRepository(store)
    case = _visible_case(case_id, principal, context, repo)
    history = [TransitionView.model_validate(row) for row in repo.transitions(case_id)]
    return CaseDetail(**_shown(principal, context, case).model_dump(), transitions=history)


def _apply(
    case: Case,
    body: ActionRequest,
    principal: Principal,
    context: ApiContext,
    repo: CaseRepository,
) -> Step:
    config, calendar = _setup(context)
    # Notes are stored and audited: no resident id in clear.
    note = pseudonymise_text(body.note, context.settings.pseudonym_key.get_secret_value().encode())
    step = act(
        case, body.action, at=_now_ms(), actor=principal.name, role=principal.role,
        config=config, calendar=calendar, disposition=body.disposition, note=note,
        attachments=tuple(body.attachments), request_id=body.request_id,
    )  # fmt: skip
    if step.transition is not None:
        repo.save(step)
        audit(
            repo.store, principal, f"case_{body.action}", case.subject_id,
            {"case_id": case.case_id, "version": step.case.version,
             "disposition": body.disposition, "note": note,
             "attachments": body.attachments},
        )  # fmt: skip
    return step


@router.post(
    "/{case_id}/transitions",
    response_model=CaseView,
    responses=problem_responses(404, 409, 503),
)
def transition(
    case_id: CaseId,
    body: ActionRequest,
    principal: Annotated[Principal, Depends(_ACT)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> CaseView:
    """Acknowledge, investigate, dispose of (with a disposition), reopen or annotate a case."""
    repo = CaseRepository(store)
    case = _visible_case(case_id, principal, context, repo)
    try:
        step = _apply(case, body, principal, context, repo)
    except CaseError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return _shown(principal, context, step.case)


@router.post("/bulk", response_model=list[BulkResult], responses=problem_responses(503))
def bulk(
    body: BulkRequest,
    principal: Annotated[Principal, Depends(_ACT)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> list[BulkResult]:
    """The same action on many cases; each case succeeds or fails on its own."""
    repo = CaseRepository(store)
    results: list[BulkResult] = []
    for case_id in dict.fromkeys(body.case_ids):
        try:
            case = _visible_case(case_id, principal, context, repo)
            one = body.model_copy(
                update={"request_id": f"{body.request_id}:{case_id}" if body.request_id else ""}
            )
            step = _apply(case, one, principal, context, repo)
        except HTTPException as error:
            results.append(BulkResult(case_id=case_id, ok=False, detail=str(error.detail)))
        except CaseError as error:
            results.append(BulkResult(case_id=case_id, ok=False, detail=str(error)))
        else:
            results.append(
                BulkResult(case_id=case_id, ok=True, case=_shown(principal, context, step.case))
            )
    return results


class ReportResult(BaseModel):
    """What a disposition report did: ``applied``, or ``repeated`` (its id was seen before)."""

    result: Literal["applied", "repeated"]
    case: CaseView


@router.post(
    "/dispositions", response_model=ReportResult, responses=problem_responses(404, 409, 503)
)
def report_disposition(
    report: DispositionEvent,
    principal: Annotated[Principal, Depends(Allow("grid", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> ReportResult:
    """A disposition report, as on ``credit.dispositions``; the same report id applies once."""
    repo = CaseRepository(store)
    case = _visible_case(report.data.case_id, principal, context, repo)
    config, calendar = _setup(context)
    action: Action = "dispose" if report.data.disposition is not None else "note"
    try:
        step = act(
            case, action, at=to_epoch_ms(report.data.at), actor=report.data.by,
            role=principal.role, config=config, calendar=calendar,
            disposition=report.data.disposition,
            note=pseudonymise_text(
                report.data.note, context.settings.pseudonym_key.get_secret_value().encode()
            ),
            attachments=report.data.attachments, request_id=report.id,
        )  # fmt: skip
    except CaseError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    if step.transition is None:
        return ReportResult(result="repeated", case=_shown(principal, context, case))
    repo.save(step)
    audit(
        store, principal, "case_disposition", case.subject_id,
        {"case_id": case.case_id, "report_id": report.id, "by": report.data.by,
         "disposition": report.data.disposition},
        purpose=report.source,
    )  # fmt: skip
    return ReportResult(result="applied", case=_shown(principal, context, step.case))
