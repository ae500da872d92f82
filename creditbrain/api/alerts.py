"""``GET /alerts`` and ``POST /alerts/{id}/ack``: the warnings as the store holds them.

Supervisors see the alerts of their sectors/districts; the grid governance system
sees only the alerts its policy routes to it (``grid`` of the rule's policy for the
alert's sector and district), with persons' names masked unless the policy reveals
them. An acknowledgement is kept in ``alert_acks`` (never lost when the stream
escalates or resolves the alert later) and audited.

The list comes in pages (:mod:`creditbrain.api.pages`), keyed on its sort order
(``event_time`` newest first, then ``alert_id``). An alert that escalates or
resolves while a caller pages moves to the top of the list: it is seen again from
the first page, not twice within one walk.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.rules import RULE_NAMES
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.pages import (
    Cursor,
    Limit,
    Position,
    decode_cursor,
    encode_cursor,
    link_next,
    milliseconds,
    moment_of,
)
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.ratelimit import GRID_OVERFETCH
from creditbrain.api.responses import problem_responses
from creditbrain.api.times import StoreTime
from creditbrain.api.views import ALERT_COLUMNS, Alert, alert_of, with_acknowledgements
from creditbrain.infra.store import Store
from creditbrain.schemas.warnings import mask_person_name

router = APIRouter(prefix="/alerts", tags=["alerts"], route_class=FiniteJsonRoute)

#: Enough rows to fill a page after the grid's policy filter drops some (and charged).
_GRID_OVERFETCH = GRID_OVERFETCH
#: Batches scanned for one grid page before a short page is answered.
_GRID_ROUNDS = 5


class AckRequest(BaseModel):
    """An acknowledgement's note."""

    note: str = Field(default="", max_length=2000)


class AckResult(BaseModel):
    """The acknowledgement as recorded."""

    alert_id: str
    acknowledged_by: str
    acknowledged_at: datetime


def _for_grid(policies: PolicySet, alert: Alert) -> Alert | None:
    """The grid's view of ``alert``, or ``None`` if it is not routed to the grid."""
    if alert.rule not in RULE_NAMES:
        return None
    policy = policies.resolve(alert.rule, alert.sector, alert.district)
    if not policy.grid:
        return None
    if alert.subject.type != "person" or policy.reveal_person_names:
        return alert
    masked = alert.subject.model_copy(update={"name": mask_person_name(alert.subject.name)})
    return alert.model_copy(update={"subject": masked})


class AlertPage(BaseModel):
    """A page of alerts, newest first; ``next`` links the following page (none on the last)."""

    items: list[Alert]
    next: str | None = None


@router.get("", response_model=AlertPage, responses=problem_responses(503))
def list_alerts(
    request: Request,
    response: Response,
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "grid", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
    level: Literal["red", "orange", "yellow", "blue"] | None = None,
    alert_status: Annotated[
        Literal["open", "escalated", "resolved"] | None, Query(alias="status")
    ] = None,
    sector: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=16)] = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[StoreTime | None, Query(description="event_time at or after")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> AlertPage:
    """Alerts, newest first, filtered; supervisors within scope, the grid its own."""
    filters: dict[str, object] = {
        "level": level, "status": alert_status, "sector": sector, "district": district,
        "rule": rule, "since": since,
    }  # fmt: skip
    where = ["1"]
    params: dict[str, object] = {}
    for column, value in filters.items():
        if value is not None and column != "since":
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if since is not None:
        where.append("event_time >= {since:DateTime64(3, 'UTC')}")
        params["since"] = since
    principal.restrict(where, params)
    after = None if cursor is None else decode_cursor(cursor, filters, (int, str))
    policies = context.policies() if principal.role == "grid" else None
    page, last = _page(store, " AND ".join(where), params, after, limit, policies)
    token = None if last is None else encode_cursor(last, filters)
    items = with_acknowledgements(store, page)
    return AlertPage(items=items, next=link_next(request, response, token, limit))


def _page(
    store: Store,
    where: str,
    params: dict[str, object],
    after: Position | None,
    limit: int,
    grid: PolicySet | None,
) -> tuple[list[Alert], Position | None]:
    """Up to ``limit`` alerts after ``after``, and the position to go on from (or None).

    Keyset order ``event_time DESC, alert_id``: the next page starts strictly after
    the last alert shown, wherever new alerts were inserted meanwhile. For the grid,
    whose policy drops some rows, the scan goes on in batches until the page is full;
    after :data:`_GRID_ROUNDS` batches a short page is answered with its ``next``, and
    the grid's last page may be empty: only a missing ``next`` ends the list.
    """
    # One row beyond the page tells whether another page follows.
    fetch = limit * (_GRID_OVERFETCH if grid is not None else 1) + 1
    page: list[Alert] = []
    position = after
    for _ in range(_GRID_ROUNDS):
        keyset = params | {"fetch": fetch}
        clause = where
        if position is not None:
            clause += (
                " AND (event_time < {after_time:DateTime64(3, 'UTC')} OR "
                "(event_time = {after_time:DateTime64(3, 'UTC')} AND alert_id > {after_id:String}))"
            )
            keyset |= {"after_time": moment_of(int(position[0])), "after_id": str(position[1])}
        rows = store.query_rows(
            f"SELECT {ALERT_COLUMNS} FROM alerts FINAL WHERE {clause} "  # noqa: S608 - fixed fragments, values bound
            "ORDER BY event_time DESC, alert_id LIMIT {fetch:UInt32}",
            keyset,
        )
        for index, alert in enumerate(alert_of(row) for row in rows):
            position = [milliseconds(alert.event_time), alert.alert_id]
            shown = alert if grid is None else _for_grid(grid, alert)
            if shown is not None:
                page.append(shown)
            if len(page) == limit:
                more = index < len(rows) - 1 or len(rows) == fetch
                return page, position if more else None
        if len(rows) < fetch:
            return page, None
    return page, position


@router.post("/{alert_id}/ack", response_model=AckResult, responses=problem_responses(404, 503))
def acknowledge(
    alert_id: Annotated[str, Path(max_length=128)],
    body: AckRequest,
    principal: Annotated[Principal, Depends(Allow("regulator", "supervisor", "grid", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> AckResult:
    """Record that the caller has seen the alert and acts on it."""
    rows = store.query_rows(
        f"SELECT {ALERT_COLUMNS} FROM alerts FINAL WHERE alert_id = {{id:String}} LIMIT 1",  # noqa: S608
        {"id": alert_id},
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    alert = alert_of(rows[0])
    if not principal.covers(alert.sector, alert.district):
        raise out_of_scope()
    if principal.role == "grid" and _for_grid(context.policies(), alert) is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this alert is not routed to the grid")
    now = datetime.now(UTC)
    note = pseudonymise_text(body.note, context.settings.pseudonym_key.get_secret_value().encode())
    store.insert_rows(
        "alert_acks",
        [{"alert_id": alert_id, "acknowledged_by": principal.name, "role": principal.role,
          "note": note, "acknowledged_at": now}],
        ("alert_id", "acknowledged_by", "role", "note", "acknowledged_at"),
    )  # fmt: skip
    audit(store, principal, "alert_ack", alert.subject.id, {"alert_id": alert_id, "note": note})
    return AckResult(alert_id=alert_id, acknowledged_by=principal.name, acknowledged_at=now)
