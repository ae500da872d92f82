"""``/policies/shadow``: candidate policy sets judged beside the live one, never delivered.

``PUT /policies/shadow/{name}`` starts a shadow (or starts it again with a new
candidate): the body is a change's (``scope``, ``override``, ``reason``), scope-checked
like a change. It is audited (``shadow_policy``), kept in ``shadow_policies`` and
published on the compacted topic ``credit.policies.shadow``; every worker follows it
and judges each re-scoring under the live set and under each shadow's set
(:mod:`creditbrain.engine.shadow`). A shadow's warnings go to ``shadow_alerts`` only,
never to ``credit.warnings``, the grid's topic or a webhook, beside the live set's
changes on the same re-scorings, so that ``GET /policies/shadow/{name}/report``
compares the two on exactly the events the shadow saw: warnings sent by level, rule,
sector, district and month, the subjects added and removed, and the outcomes as in a
preview (:mod:`creditbrain.engine.compare`).

``DELETE`` ends a shadow; ``POST /policies/shadow/{name}/promote`` makes its candidate
live as a normal policy change (audited, versioned, ``If-Match`` as for a change) and
ends the shadow. A supervisor sees, reports on and changes the shadows of scopes
inside their own.
"""

# The report's query joins fixed fragments; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from creditbrain.alerts.policy import PolicyOverride
from creditbrain.alerts.policy_changes import PolicyChange
from creditbrain.api import policies
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.problems import FiniteJsonRoute, invalid
from creditbrain.api.responses import problem_responses
from creditbrain.core.errors import CreditBrainError
from creditbrain.engine.compare import Comparison, Side
from creditbrain.engine.engine import Counters
from creditbrain.engine.replay import Backtest
from creditbrain.engine.shadow import NAME_PATTERN, Shadow
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import SHADOW_POLICIES, topic_name
from creditbrain.schemas.policies import PolicyError, Scope

router = APIRouter(prefix="/policies/shadow", tags=["policies"], route_class=FiniteJsonRoute)

_Name = Annotated[str, Path(max_length=48, pattern=NAME_PATTERN, description="The shadow's name.")]
_COLUMNS = ("name", "scope", "override", "reason", "who", "started_at", "ended_at", "version")


class ShadowRequest(BaseModel):
    """A candidate override for ``scope`` (as in a change) to run in shadow, and why."""

    scope: str = Field(max_length=128)
    override: PolicyOverride | None
    reason: str = Field(min_length=1, max_length=2000)


class ShadowList(BaseModel):
    """The shadows running that the caller may see."""

    items: list[Shadow]


class Promote(BaseModel):
    """Why the shadow's candidate becomes live."""

    reason: str = Field(min_length=1, max_length=2000)


@router.get("", response_model=ShadowList, responses=problem_responses(503))
def list_shadows(
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
) -> ShadowList:
    """The shadows running (name, scope, candidate, who, since when, why)."""
    running = _running(context.store(), None)
    return ShadowList(items=[s for s in running if principal.may_see(Scope.parse(s.scope, None))])


@router.put("/{name}", response_model=Shadow, responses=problem_responses(503))
async def put_shadow(
    name: _Name,
    request: ShadowRequest,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> Shadow:
    """Run ``scope``'s candidate override in shadow from now on (a new run if it ran)."""
    if not request.reason.strip():
        raise invalid(("body", "reason"), "a reason is required")
    scope = _scope(request.scope, ("body", "scope"))
    if not principal.may_change(scope):
        raise out_of_scope()
    store = context.store()
    earlier = await run_in_threadpool(_running, store, name)
    if earlier and not principal.may_change(Scope.parse(earlier[0].scope, None)):
        raise out_of_scope()  # someone else's shadow of a wider scope: not to be replaced
    key = context.settings.pseudonym_key.get_secret_value().encode()
    shadow = Shadow(
        name=name,
        scope=request.scope,
        override=request.override,
        reason=pseudonymise_text(request.reason, key),
        who=principal.name,
        started_at=datetime.now(UTC),
    )
    details = shadow.model_dump(mode="json")
    # Audited first, as a policy change: a shadow never runs without its audit row.
    await run_in_threadpool(
        audit, store, principal, "shadow_policy", request.scope, details, shadow.reason
    )
    await run_in_threadpool(_keep, store, shadow, None)
    await _publish(context, name, shadow.to_json())
    return shadow


@router.delete("/{name}", response_model=Shadow, responses=problem_responses(404, 503))
async def end_shadow(
    name: _Name,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> Shadow:
    """End a shadow: the workers stop judging under it; its report stays readable."""
    if not reason.strip():
        raise invalid(("query", "reason"), "a reason is required")
    shadow = await _own(context, principal, name)
    key = context.settings.pseudonym_key.get_secret_value().encode()
    await _end(context, principal, shadow, pseudonymise_text(reason, key), "ended")
    return shadow


@router.get("/{name}/report", responses=problem_responses(404, 503))
def shadow_report(
    name: _Name,
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
    horizon_days: Annotated[int, Query(ge=1, le=730)] = 180,
) -> dict[str, Any]:
    """Live and shadow side by side on the re-scorings the shadow judged since it started.

    ``live`` and ``shadow`` each count the warnings sent (openings and escalations)
    by level, rule, sector, district and month within the shadow's scope, with their
    outcomes (precision, recall, median lead against the subjects the live set saw go
    red); ``added`` / ``removed`` name the first 100 subjects warned at a level under
    the shadow only / the live set only.
    """
    store = context.store()
    shadow = _visible(store, principal, name)
    live, candidate = _sides(store, shadow)
    result = Comparison(live, candidate, horizon_days).as_dict()
    result.pop("messages")  # the workers' messages are not counted per shadow
    result["shadow"] = result.pop("candidate")
    return {"name": name, "scope": shadow.scope, "started_at": shadow.started_at} | result


@router.post(
    "/{name}/promote",
    response_model=PolicyChange,
    responses={**policies.CHANGE_RESPONSES, **problem_responses(404)},
)
async def promote_shadow(
    name: _Name,
    promote: Promote,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    response: Response,
    if_match: policies.IfMatch = None,
) -> PolicyChange:
    """Make the shadow's candidate live: a policy change of its scope; the shadow ends."""
    shadow = await _own(context, principal, name)
    change = await policies.change_policy(
        context,
        principal,
        shadow.scope,
        policies.Wanted(shadow.override, promote.reason, ("body", "reason"), if_match),
        response,
    )
    note = f"promoted as version {change.version} of {shadow.scope}"
    await _end(context, principal, shadow, note, "promoted")
    return change


def _scope(text: str, at: tuple[str, str]) -> Scope:
    try:
        return Scope.parse(text)
    except PolicyError as error:
        raise invalid(at, str(error)) from None


def _visible(store: Store, principal: Principal, name: str) -> Shadow:
    """The shadow ``name`` (running or the last run), 404 when the caller may not see it."""
    found = _shadows(store, name, running=False)
    if not found or not principal.may_see(Scope.parse(found[0].scope, None)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shadow {name}")
    return found[0]


async def _own(context: ApiContext, principal: Principal, name: str) -> Shadow:
    """The running shadow ``name``; 404 if none runs, 403 outside the caller's scope."""
    running = await run_in_threadpool(_running, context.store(), name)
    if not running or not principal.may_see(Scope.parse(running[0].scope, None)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shadow {name} is running")
    if not principal.may_change(Scope.parse(running[0].scope, None)):
        raise out_of_scope()
    return running[0]


async def _end(
    context: ApiContext, principal: Principal, shadow: Shadow, reason: str, how: str
) -> None:
    store = context.store()
    details = {"name": shadow.name, "ended": how, "started_at": shadow.started_at.isoformat()}
    await run_in_threadpool(audit, store, principal, "shadow_policy_end", shadow.scope, details,
                            reason)  # fmt: skip
    await run_in_threadpool(_keep, store, shadow, datetime.now(UTC))
    await _publish(context, shadow.name, None)


async def _publish(context: ApiContext, name: str, value: bytes | None) -> None:
    topic = topic_name(context.settings.kafka.topic_prefix, SHADOW_POLICIES)
    try:
        await context.publisher.send(topic, name.encode(), value)
    except (CreditBrainError, OSError) as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the shadow could not be published: {error}"
        ) from None


def _keep(store: Store, shadow: Shadow, ended_at: datetime | None) -> None:
    now = datetime.now(UTC)
    override = "" if shadow.override is None else shadow.override.to_bytes().decode()
    row = {
        "name": shadow.name,
        "scope": shadow.scope,
        "override": override,
        "reason": shadow.reason,
        "who": shadow.who,
        "started_at": shadow.started_at,
        "ended_at": ended_at,
        # Microseconds: a shadow's rows of one second still follow each other.
        "version": int(now.timestamp() * 1_000_000),
    }
    store.insert_rows("shadow_policies", [row], _COLUMNS)


def _running(store: Store, name: str | None) -> list[Shadow]:
    return _shadows(store, name, running=True)


def _shadows(store: Store, name: str | None, *, running: bool) -> list[Shadow]:
    where = ["1"]
    parameters: dict[str, object] = {}
    if name is not None:
        where.append("name = {name:String}")
        parameters["name"] = name
    if running:
        where.append("ended_at IS NULL")
    rows = store.query_rows(
        "SELECT name, scope, override, reason, who, started_at FROM shadow_policies FINAL "
        f"WHERE {' AND '.join(where)} ORDER BY name",
        parameters,
    )
    return [
        Shadow(
            name=str(row["name"]),
            scope=str(row["scope"]),
            override=PolicyOverride.model_validate_json(str(row["override"]))
            if row["override"]
            else None,
            reason=str(row["reason"]),
            who=str(row["who"]),
            started_at=_aware(row["started_at"]),
        )
        for row in rows
    ]


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sides(store: Store, shadow: Shadow) -> tuple[Side, Side]:
    """Both sides' sent openings and escalations of the shadow's run, within its scope."""
    scope = Scope.parse(shadow.scope, None)
    where = [
        "shadow = {name:String}",
        "started_at = {started:DateTime64(3, 'UTC')}",
        "change IN ('opened', 'escalated')",
        "sent = 1",
    ]
    parameters: dict[str, object] = {"name": shadow.name, "started": shadow.started_at}
    scope.restrict(where, parameters)
    rows = store.query_rows(
        "SELECT side, change AS status, level, rule, sector, district, subject_id, "
        "subject_type, toUnixTimestamp64Milli(event_time) AS at FROM shadow_alerts FINAL "
        f"WHERE {' AND '.join(where)} ORDER BY event_time, subject_id, alert_id, version",
        parameters,
    )
    changes: dict[str, list[dict[str, Any]]] = {"live": [], "shadow": []}
    for row in rows:
        moment = datetime.fromtimestamp(int(str(row["at"])) / 1000, UTC)
        change = dict(row) | {"sent": True, "time": moment.isoformat()}
        changes.setdefault(str(row["side"]), []).append(change)
    return (
        Side.of(changes["live"], Backtest(Counters())),
        Side.of(changes["shadow"], Backtest(Counters())),
    )
