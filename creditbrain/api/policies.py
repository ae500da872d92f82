"""``/policies``: the warning policies in force, and supervisors' live changes to them.

A change is validated with :mod:`creditbrain.alerts.policy`, audited with the
policy before and after, the stated reason and the scope's next version
(:mod:`creditbrain.api.policy_history`), and only then published on the compacted
topic ``credit.policies`` (key: the scope, value: the override; a deletion is a
tombstone, ``value=None``) through the injected publisher; a change the broker
refuses is marked failed in the audit and answered 503. Every worker follows the
topic and applies the change to the next event, without a restart.

The changes of one scope are made one at a time, and a client that read version
``n`` sends ``If-Match: "n"`` so that its change is refused (412) if another came
first. ``If-Match`` is optional (a change without it applies to whatever version is
current, still one at a time), so 428 is never answered. ``GET /policies/history``
lists the versions; ``POST /policies/{scope}/rollback`` brings one back.

Scopes are written ``*``, ``sector=S``, ``district=D`` or ``sector=S|district=D``
(URL-encoded in the path, e.g. ``sector%3Dfood_drug%7Cdistrict%3D371102``). A
supervisor may change only scopes inside their own: a food_drug supervisor may set
``sector=food_drug`` or ``sector=food_drug|district=371102``, but not ``*``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from creditbrain.alerts.policy import PolicyOverride, RulePolicy
from creditbrain.alerts.policy_changes import PolicyChange
from creditbrain.alerts.rules import RuleName
from creditbrain.api import policy_history as history
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.pages import Cursor, Limit, decode_cursor, encode_cursor, link_next
from creditbrain.api.problems import FiniteJsonRoute, invalid
from creditbrain.api.responses import problem_responses
from creditbrain.core.errors import CreditBrainError
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import POLICIES, topic_name
from creditbrain.schemas.policies import PolicyError, Scope

log = logging.getLogger(__name__)

router = APIRouter(prefix="/policies", tags=["policies"], route_class=FiniteJsonRoute)

_ScopePath = Annotated[
    str, Path(max_length=128, description="'*', 'sector=S', 'district=D' or 'sector=S|district=D'")
]


class PoliciesInForce(BaseModel):
    """The defaults of every rule and the overrides the caller may see."""

    defaults: Mapping[RuleName, RulePolicy]
    overrides: Mapping[str, PolicyOverride]


class PolicyUpdate(BaseModel):
    """A new override for one scope and why it is made."""

    override: PolicyOverride
    reason: str = Field(min_length=1, max_length=2000)


@router.get(
    "",
    response_model=PoliciesInForce,
    responses={
        200: {"headers": {"ETag": {"description": "The set's tag, for If-None-Match.",
                                   "schema": {"type": "string"}}}},
        304: {"description": "Not Modified: the set is the one the If-None-Match tag names."},
        **problem_responses(503),
    },
)  # fmt: skip
def policies_in_force(
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
    if_none_match: Annotated[str | None, Header(max_length=4096)] = None,
) -> Response:
    """Defaults and overrides in force; a supervisor sees the overrides that reach their scope.

    The answer carries an ``ETag``; sent back in ``If-None-Match`` it gets a bodiless
    304 while the set (as this caller sees it) is unchanged.
    """
    policies = context.policies()
    visible = {
        key: override
        for key, override in policies.overrides.items()
        if principal.may_see(Scope.parse(key, None))
    }
    body = orjson.dumps(
        PoliciesInForce(defaults=policies.defaults, overrides=visible).model_dump(mode="json"),
        option=orjson.OPT_SORT_KEYS,
    )
    tag = entity_tag(body)
    # The set differs by key (a supervisor sees part of it): caches must keep them apart.
    headers = {
        "ETag": tag,
        "Cache-Control": "private, no-cache",
        "Vary": "X-API-Key, Authorization",
    }
    if if_none_match is not None and matches(if_none_match, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def entity_tag(body: bytes) -> str:
    """A strong ETag of ``body``: its SHA-256, shortened.

    >>> entity_tag(b"{}")
    '"44136fa355b3678a1146ad16f7e8649e"'
    """
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def matches(if_none_match: str, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weakly compared, as RFC 9110 says for it).

    >>> matches('W/"a", "b"', '"a"'), matches("*", '"a"'), matches('"c"', '"a"')
    (True, True, False)
    """
    if if_none_match.strip() == "*":
        return True
    return any(
        candidate.strip().removeprefix("W/") == tag for candidate in if_none_match.split(",")
    )


class PolicyVersion(PolicyChange):
    """One published version of a scope's policy, with what it changed field by field."""

    diff: dict[str, tuple[Any, Any]] = Field(
        description="'rule.field' (or 'rule.thresholds.name'): [before, after]"
    )


class PolicyHistory(BaseModel):
    """A page of published versions, newest first."""

    items: list[PolicyVersion]
    next: str | None = None


@router.get("/history", response_model=PolicyHistory, responses=problem_responses(503))
def policy_history(
    request: Request,
    response: Response,
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
    scope: Annotated[str | None, Query(max_length=128, description="Only this scope's.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> PolicyHistory:
    """Every published version (who, when, why, before, after, diff) the caller may see.

    A supervisor sees the versions of scopes that reach their own, as in ``GET /policies``.
    """
    if scope is not None:
        try:
            Scope.parse(scope)
        except PolicyError as error:
            raise invalid(("query", "scope"), str(error)) from None
    filters = {"scope": scope}
    after = None if cursor is None else decode_cursor(cursor, filters, (int, str, int))
    rows = history.history(context.store(), scope, after, limit)
    items = [
        PolicyVersion(**dict(change), diff=change.differences())
        for _, change in rows
        if principal.may_see(Scope.parse(change.scope, None))
    ]
    last = rows[-1] if len(rows) == limit else None
    token = (
        None if last is None else encode_cursor([last[0], last[1].scope, last[1].version], filters)
    )
    return PolicyHistory(items=items, next=link_next(request, response, token, limit))


IfMatch = Annotated[
    str | None,
    Header(
        max_length=256,
        description="The scope's version as an entity tag, e.g. '\"4\"' (or '*'): "
        "the change is made only if the scope is still at that version, else 412.",
    ),
]
CHANGE_RESPONSES = {
    200: {"headers": {"ETag": {"description": "The scope's new version, for If-Match.",
                               "schema": {"type": "string"}}}},
    **problem_responses(412, 503),
}  # fmt: skip


class Rollback(BaseModel):
    """Which earlier version of a scope to bring back, and why."""

    version: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000)


@router.put("/{scope}", response_model=PolicyChange, responses=CHANGE_RESPONSES)
async def set_policy(
    scope: _ScopePath,
    update: PolicyUpdate,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    response: Response,
    if_match: IfMatch = None,
) -> PolicyChange:
    """Give ``scope`` a new override (replacing its previous one), as its next version."""
    wanted = Wanted(update.override, update.reason, ("body", "reason"), if_match)
    return await change_policy(context, principal, scope, wanted, response)


@router.delete("/{scope}", response_model=PolicyChange, responses=CHANGE_RESPONSES)
async def delete_policy(
    scope: _ScopePath,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    response: Response,
    if_match: IfMatch = None,
) -> PolicyChange:
    """Remove the override of ``scope``: the wider scopes and defaults apply again."""
    wanted = Wanted(None, reason, ("query", "reason"), if_match)
    return await change_policy(context, principal, scope, wanted, response)


@router.post(
    "/{scope}/rollback",
    response_model=PolicyChange,
    responses={**CHANGE_RESPONSES, **problem_responses(404)},
)
async def roll_back(
    scope: _ScopePath,
    rollback: Rollback,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    response: Response,
    if_match: IfMatch = None,
) -> PolicyChange:
    """Bring back an earlier version of ``scope``: a new version with that version's override.

    The rollback is a change like any other (audited, published, versioned); its
    ``restores`` names the version it brought back.
    """
    _scope_for(principal, scope)
    earlier = await run_in_threadpool(history.version, context.store(), scope, rollback.version)
    if earlier is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"{scope} has no published version {rollback.version}"
        )
    wanted = Wanted(
        earlier.after, rollback.reason, ("body", "reason"), if_match, restores=rollback.version
    )
    return await change_policy(context, principal, scope, wanted, response)


@dataclass(frozen=True)
class Wanted:
    """What a change asks for: the override (``None``: deleted), why, and its precondition."""

    after: PolicyOverride | None
    reason: str
    reason_at: tuple[str, str]
    if_match: str | None
    restores: int | None = None


def _scope_for(principal: Principal, scope: str) -> Scope:
    try:
        parsed = Scope.parse(scope)
    except PolicyError as error:
        raise invalid(("path", "scope"), str(error)) from None
    if not principal.may_change(parsed):
        raise out_of_scope()
    return parsed


async def change_policy(
    context: ApiContext, principal: Principal, scope: str, wanted: Wanted, response: Response
) -> PolicyChange:
    """Make one change of ``scope`` (scope-checked, audited, versioned, then published)."""
    if not wanted.reason.strip():  # blanks state no reason
        raise invalid(wanted.reason_at, "a reason is required")
    # The reason travels on the topic and into the audit: no resident id in clear.
    key = context.settings.pseudonym_key.get_secret_value().encode()
    reason = pseudonymise_text(wanted.reason, key)
    _scope_for(principal, scope)
    store = context.store()
    # One change of a scope at a time: the version read is still the latest when audited.
    async with context.policy_locks.setdefault(scope, asyncio.Lock()):
        current = await run_in_threadpool(history.latest, store, scope)
        if wanted.if_match is not None:
            _precondition(wanted.if_match, scope, current)
        if current is not None:
            before = current.after
        else:  # set before versions were kept, or never: the set in force knows
            before = (await run_in_threadpool(context.policies)).overrides.get(scope)
        change = PolicyChange.model_validate(
            {
                "who": principal.name,
                "when": datetime.now(UTC),
                "scope": scope,
                "before": before,
                "after": wanted.after,
                "reason": reason,
                "version": await run_in_threadpool(history.next_version, store, scope),
                "restores": wanted.restores,
            }
        )
        # Audited first: a change is never live without its audit row.
        details = change.model_dump(mode="json")
        await run_in_threadpool(audit, store, principal, "policy_change", scope, details, reason)
        await _publish(context, store, principal, change)
    context.counters["policy_changes_total"] += 1
    response.headers["ETag"] = version_tag(change.version)
    return change


async def _publish(
    context: ApiContext, store: Store, principal: Principal, change: PolicyChange
) -> None:
    key, value = change.message()
    topic = topic_name(context.settings.kafka.topic_prefix, POLICIES)
    try:
        await context.publisher.send(topic, key, value)
    except (CreditBrainError, OSError) as error:
        failed = {"version": change.version, "error": str(error)}
        try:
            await run_in_threadpool(
                audit, store, principal, "policy_change_failed", change.scope, failed
            )
        except (CreditBrainError, OSError):
            log.exception("version %d of %s not marked failed", change.version, change.scope)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the policy could not be published: {error}"
        ) from None


def version_tag(number: int) -> str:
    """A scope's version as an entity tag (``ETag`` / ``If-Match``).

    >>> version_tag(4)
    '"4"'
    """
    return f'"{number}"'


def _precondition(if_match: str, scope: str, current: PolicyChange | None) -> None:
    """412 unless ``If-Match`` names the scope's version (``*``: any version exists)."""
    at = 0 if current is None else current.version
    if if_match.strip() == "*":
        if current is not None:
            return
    elif any(
        tag.strip() == version_tag(at) for tag in if_match.split(",")
    ):  # strong comparison (RFC 9110 for If-Match): a W/ tag never matches
        return
    raise HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        f"{scope} is at version {at}, not the one If-Match names: read "
        "/policies/history and try again on the latest version",
    )
