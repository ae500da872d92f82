"""``/subjects/{id}/snoozes``: hold one subject's warnings back until a moment of event time.

A regulator (a supervisor for a subject in their scope, or an admin) snoozes one
rule of a subject, or all its rules, until ``until`` with a reason. The snooze is
audited first (action ``snooze``), then published on the compacted topic
``credit.snoozes`` (key: the snooze id); every worker follows the topic and holds
back the warning changes the snooze covers: stored, marked snoozed, never sent to
``credit.warnings``, the grid or the webhooks (:mod:`creditbrain.alerts.snooze`).
``until`` is event time (the time of the events, not of their arrival): the snooze
ends by itself when the subject's events reach it, and a replay of the same events
holds back the same changes. ``DELETE`` lifts a snooze early (a tombstone).

The list is read from the audit (the snoozes made and not lifted), so it answers
without a broker; a snooze whose end has passed in event time holds nothing back
even while it is listed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from creditbrain.alerts.rules import RuleName
from creditbrain.alerts.snooze import Snooze
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.lookup import fetch_subjects
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.responses import problem_responses
from creditbrain.api.subjects import candidate_ids
from creditbrain.core.errors import CreditBrainError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import SNOOZES, topic_name

router = APIRouter(prefix="/subjects", tags=["snoozes"], route_class=FiniteJsonRoute)

_SubjectPath = Annotated[
    str, Path(max_length=64, description="Credit code, resident identity number or pseudonym.")
]
_SnoozeId = Annotated[str, Path(max_length=64, description="The snooze's id.")]
_Snoozers = Allow("regulator", "supervisor", "admin")


class SnoozeRequest(BaseModel):
    """What to hold back, until when (event time) and why."""

    rule: RuleName | None = Field(
        default=None, description="The rule to hold back; omitted or null: every rule."
    )
    until: AwareDatetime = Field(description="End of the snooze, in event time.")
    reason: str = Field(min_length=1, max_length=500, description="Why (audited).")


class SnoozeOut(BaseModel):
    """One snooze in force (until its end in event time)."""

    id: str
    subject_id: str
    rule: RuleName | None
    until: datetime
    reason: str
    by: str
    created_at: datetime


@router.post(
    "/{subject_id}/snoozes",
    response_model=SnoozeOut,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 503),
)
async def snooze(
    subject_id: _SubjectPath,
    body: SnoozeRequest,
    principal: Annotated[Principal, Depends(_Snoozers)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> SnoozeOut:
    """Hold back the subject's warnings (one rule or all) until ``until``, event time."""
    found_id = await run_in_threadpool(_subject_in_scope, context, store, principal, subject_id)
    now = datetime.now(UTC)
    made = Snooze(
        uuid.uuid4().hex,
        found_id,
        body.rule,
        to_epoch_ms(body.until),
        # The reason travels on the topic and into the audit: no resident id in clear.
        pseudonymise_text(
            body.reason.strip(), context.settings.pseudonym_key.get_secret_value().encode()
        ),
        principal.name,
        to_epoch_ms(now),
    )
    details = {"id": made.id, "rule": made.rule, "until": body.until.isoformat()}
    await run_in_threadpool(audit, store, principal, "snooze", found_id, details, made.reason)
    await _publish(context, store, principal, made.id, found_id, made.to_json())
    return _out(made)


@router.get(
    "/{subject_id}/snoozes", response_model=list[SnoozeOut], responses=problem_responses(404)
)
def snoozes(
    subject_id: _SubjectPath,
    principal: Annotated[Principal, Depends(_Snoozers)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> list[SnoozeOut]:
    """The subject's snoozes made and not lifted, oldest first."""
    found_id = _subject_in_scope(context, store, principal, subject_id)
    return [_out(s) for s in snoozes_in_audit(store, found_id).values()]


@router.delete(
    "/{subject_id}/snoozes/{snooze_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 503),
)
async def lift(
    subject_id: _SubjectPath,
    snooze_id: _SnoozeId,
    principal: Annotated[Principal, Depends(_Snoozers)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
) -> Response:
    """Lift a snooze before its end: the subject's next warning changes are sent again."""
    found_id = await run_in_threadpool(_subject_in_scope, context, store, principal, subject_id)
    held = await run_in_threadpool(snoozes_in_audit, store, found_id)
    if snooze_id not in held:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such snooze of this subject")
    await run_in_threadpool(audit, store, principal, "snooze_lifted", found_id, {"id": snooze_id})
    await _publish(context, store, principal, snooze_id, found_id, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _subject_in_scope(context: ApiContext, store: Store, principal: Principal, raw_id: str) -> str:
    """The stored subject's id; 404 when unknown, 403 outside a supervisor's scope."""
    settings = context.settings
    ids = candidate_ids(
        raw_id, settings.pseudonym_key.get_secret_value().encode(), settings.credit_code_allow_list
    )
    found = fetch_subjects(store, ids, 0) if ids else []
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subject")
    state = found[0].state
    if not principal.covers(str(state["sector"]), str(state["district"])):
        raise out_of_scope()
    return found[0].subject_id


def snoozes_in_audit(store: Store, subject_id: str) -> dict[str, Snooze]:
    """The subject's snoozes audited and neither lifted nor failed to publish, by id."""
    rows = store.query_rows(
        "SELECT action, actor, toUnixTimestamp64Milli(ts) AS ms, purpose, details FROM audit "
        "WHERE subject_id = {s:String} "
        "AND action IN ('snooze', 'snooze_lifted', 'snooze_failed') ORDER BY ts",
        {"s": subject_id},
    )
    held: dict[str, Snooze] = {}
    for row in rows:
        details: dict[str, Any] = orjson.loads(str(row["details"]))
        snooze_id = str(details["id"])
        if row["action"] != "snooze":
            held.pop(snooze_id, None)
            continue
        held[snooze_id] = Snooze(
            snooze_id,
            subject_id,
            details.get("rule"),
            to_epoch_ms(datetime.fromisoformat(details["until"])),
            str(row["purpose"]),
            str(row["actor"]),
            int(str(row["ms"])),
        )
    return held


async def _publish(
    context: ApiContext,
    store: Store,
    principal: Principal,
    snooze_id: str,
    subject_id: str,
    value: bytes | None,
) -> None:
    topic = topic_name(context.settings.kafka.topic_prefix, SNOOZES)
    try:
        await context.publisher.send(topic, snooze_id.encode(), value)
    except (CreditBrainError, OSError) as error:
        if value is not None:  # a snooze never published is no snooze: it leaves the list
            await run_in_threadpool(
                audit, store, principal, "snooze_failed", subject_id, {"id": snooze_id}
            )
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the snooze could not be published: {error}"
        ) from None


def _out(snoozed: Snooze) -> SnoozeOut:
    return SnoozeOut(
        id=snoozed.id,
        subject_id=snoozed.subject_id,
        rule=snoozed.rule,
        until=datetime.fromtimestamp(snoozed.until_ms / 1000, UTC),
        reason=snoozed.reason,
        by=snoozed.by,
        created_at=datetime.fromtimestamp(snoozed.created_ms / 1000, UTC),
    )
