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

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from creditbrain.alerts.policy import PolicyOverride, RulePolicy
from creditbrain.alerts.policy_changes import PolicyChange
from creditbrain.alerts.rules import RuleName
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.core.errors import CreditBrainError
from creditbrain.schemas.contract import POLICIES, topic_name
from creditbrain.schemas.policies import PolicyError, Scope

router = APIRouter(prefix="/policies", tags=["policies"])

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


@router.get("", response_model=PoliciesInForce)
def policies_in_force(
    principal: Annotated[
        Principal, Depends(Allow("regulator", "supervisor", "leadership", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PoliciesInForce:
    """Defaults and overrides in force; a supervisor sees the overrides that reach their scope."""
    policies = context.policies()
    visible = {
        key: override
        for key, override in policies.overrides.items()
        if principal.may_see(Scope.parse(key, None))
    }
    return PoliciesInForce(defaults=policies.defaults, overrides=visible)


@router.put("/{scope}", response_model=PolicyChange)
async def set_policy(
    scope: _ScopePath,
    update: PolicyUpdate,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PolicyChange:
    """Give ``scope`` a new override (replacing its previous one)."""
    return await _change(context, principal, scope, update.override, update.reason)


@router.delete("/{scope}", response_model=PolicyChange)
async def delete_policy(
    scope: _ScopePath,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PolicyChange:
    """Remove the override of ``scope``: the wider scopes and defaults apply again."""
    return await _change(context, principal, scope, None, reason)


async def _change(
    context: ApiContext,
    principal: Principal,
    scope: str,
    after: PolicyOverride | None,
    reason: str,
) -> PolicyChange:
    if not reason.strip():  # blanks state no reason
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a reason is required")
    try:
        parsed = Scope.parse(scope)
    except PolicyError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    if not principal.may_change(parsed):
        raise out_of_scope()
    # The reason travels on the topic and into the audit: no resident id in clear.
    reason = pseudonymise_text(reason, context.settings.pseudonym_key.get_secret_value().encode())
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
