"""``GET /alerts`` and ``POST /alerts/{id}/ack``: the warnings as the store holds them.

Supervisors see the alerts of their sectors/districts; the grid governance system
sees only the alerts its policy routes to it (``grid`` of the rule's policy for the
alert's sector and district), with persons' names masked unless the policy reveals
them. An acknowledgement is kept in ``alert_acks`` (never lost when the stream
escalates or resolves the alert later) and audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.rules import RULE_NAMES
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.ratelimit import GRID_OVERFETCH
from creditbrain.api.views import ALERT_COLUMNS, Alert, alert_of, with_acknowledgements
from creditbrain.infra.store import Store
from creditbrain.schemas.warnings import mask_person_name

router = APIRouter(prefix="/alerts", tags=["alerts"])

#: Enough rows to fill a page after the grid's policy filter drops some (and charged).
_GRID_OVERFETCH = GRID_OVERFETCH


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


@router.get("", response_model=list[Alert])
def list_alerts(
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
    since: Annotated[AwareDatetime | None, Query(description="event_time at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Alert]:
    """Alerts, newest first, filtered; supervisors within scope, the grid its own."""
    where = ["1"]
    params: dict[str, object] = {}
    for column, value in (
        ("level", level), ("status", alert_status), ("sector", sector),
        ("district", district), ("rule", rule),
    ):  # fmt: skip
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if since is not None:
        where.append("event_time >= {since:DateTime64(3, 'UTC')}")
        params["since"] = since.astimezone(UTC)
    if principal.scoped and principal.sectors:
        where.append("sector IN {scope_sectors:Array(String)}")
        params["scope_sectors"] = sorted(principal.sectors)
    if principal.scoped and principal.districts:
        where.append("district IN {scope_districts:Array(String)}")
        params["scope_districts"] = sorted(principal.districts)
    params["limit"] = limit * (_GRID_OVERFETCH if principal.role == "grid" else 1)
    rows = store.query_rows(
        f"SELECT {ALERT_COLUMNS} FROM alerts FINAL WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments, values bound
        "ORDER BY event_time DESC, alert_id LIMIT {limit:UInt32}",
        params,
    )
    alerts = [alert_of(row) for row in rows]
    if principal.role == "grid":
        policies = context.policies()
        alerts = [a for a in (_for_grid(policies, alert) for alert in alerts) if a][:limit]
    return with_acknowledgements(store, alerts)


@router.post("/{alert_id}/ack", response_model=AckResult)
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
