"""``/policies``: the warning policies in force, and supervisors' live changes to them.

A change is validated with :mod:`creditbrain.alerts.policy`, published on the
compacted topic ``credit.policies`` (key: the scope, value: the override; a
deletion is a tombstone, ``value=None``) through the injected publisher, and then
audited with the policy before and after and the stated reason. Every worker
follows the topic and applies the change to the next event, without a restart.

Scopes are written ``*``, ``sector=S``, ``district=D`` or ``sector=S|district=D``
(URL-encoded in the path, e.g. ``sector%3Dfood_drug%7Cdistrict%3D371102``). A
supervisor may change only scopes inside their own: a food_drug supervisor may set
``sector=food_drug`` or ``sector=food_drug|district=371102``, but not ``*``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from creditbrain.alerts.policy import PolicyOverride, RulePolicy
from creditbrain.alerts.policy_changes import PolicyChange
from creditbrain.alerts.rules import RuleName
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context
from creditbrain.api.problems import FiniteJsonRoute, invalid
from creditbrain.api.responses import problem_responses
from creditbrain.core.errors import CreditBrainError
from creditbrain.schemas.contract import POLICIES, topic_name
from creditbrain.schemas.policies import PolicyError, Scope

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


@router.put("/{scope}", response_model=PolicyChange, responses=problem_responses(503))
async def set_policy(
    scope: _ScopePath,
    update: PolicyUpdate,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PolicyChange:
    """Give ``scope`` a new override (replacing its previous one)."""
    reason = ("body", "reason")
    return await _change(context, principal, scope, update.override, update.reason, reason)


@router.delete("/{scope}", response_model=PolicyChange, responses=problem_responses(503))
async def delete_policy(
    scope: _ScopePath,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PolicyChange:
    """Remove the override of ``scope``: the wider scopes and defaults apply again."""
    return await _change(context, principal, scope, None, reason, ("query", "reason"))


async def _change(
    context: ApiContext,
    principal: Principal,
    scope: str,
    after: PolicyOverride | None,
    reason: str,
    reason_at: tuple[str, str],
) -> PolicyChange:
    if not reason.strip():  # blanks state no reason
        raise invalid(reason_at, "a reason is required")
    try:
        parsed = Scope.parse(scope)
    except PolicyError as error:
        raise invalid(("path", "scope"), str(error)) from None
    if not principal.may_change(parsed):
        raise out_of_scope()
    policies = await run_in_threadpool(context.policies)
    change = PolicyChange.of(
        policies, scope, after, who=principal.name, when=datetime.now(UTC), reason=reason
    )
    key, value = change.message()
    topic = topic_name(context.settings.kafka.topic_prefix, POLICIES)
    try:
        await context.publisher.send(topic, key, value)
    except (CreditBrainError, OSError) as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the policy could not be published: {error}"
        ) from None
    store = context.store()
    await run_in_threadpool(
        audit, store, principal, "policy_change", scope,
        change.model_dump(mode="json"), reason,
    )  # fmt: skip
    context.counters["policy_changes_total"] += 1
    return change
