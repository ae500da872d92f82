"""``/subscriptions``: webhook subscribers of warnings, and replay of their dead letters.

Admins, regulators and the grid system manage subscriptions; each non-admin sees
and deletes only the ones their key created. A grid key's subscriptions receive the
grid feed (``credit.warnings.grid``, persons' names masked), the others the full feed.

The secret signs every delivery (Standard Webhooks' ``webhook-signature`` and the
older ``X-Creditbrain-Signature``, see :mod:`creditbrain.alerts.delivery`). It is
needed in clear to sign, so it is kept in the store and **never returned**: give one
(at least 16 characters), or leave it out and the answer to the POST carries a
generated one, that one time only.

The URL must reach a public address (:mod:`creditbrain.api.targets`): loopback,
private, link-local, metadata ... addresses are refused with 422, unless
``CREDITBRAIN_WEBHOOKS__ALLOW_TARGETS`` allows their network; every delivery checks
again. The filters are short lists (422 beyond their caps): a request naming
200,000 sectors is not a subscription.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from creditbrain.alerts.delivery import RetryPolicy, Subscription
from creditbrain.api.auth import Allow, Principal
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.pages import (
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    link_next,
    milliseconds,
)
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.responses import problem_responses
from creditbrain.api.targets import TargetPolicy, TargetRefused, webhook_client
from creditbrain.api.watchlists import MAX_SUBJECTS, owned_watchlist
from creditbrain.api.webhooks import (
    Deliverer,
    StoredSubscription,
    load_subscriptions,
    replay_dead_letters,
    save_subscription,
    save_subscription_subjects,
)
from creditbrain.infra.store import Store

router = APIRouter(prefix="/subscriptions", tags=["subscriptions"], route_class=FiniteJsonRoute)

_Manager = Annotated[Principal, Depends(Allow("admin", "regulator", "grid"))]
_Id = Annotated[str, Path(max_length=64)]
Level = Literal["red", "orange", "yellow", "blue"]


class SubscriptionRequest(BaseModel):
    """A new subscription: where to, signed with what, for which warnings."""

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=256)
    levels: list[Level] = Field(default=[], max_length=4)
    sectors: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=64)
    districts: list[Annotated[str, Field(max_length=16)]] = Field(default=[], max_length=256)
    subject_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], max_length=MAX_SUBJECTS, description="Only the warnings of these subjects."
    )
    watchlist: str | None = Field(
        default=None,
        max_length=64,
        description="Only the warnings of this watch list's subjects (as it is now).",
    )


class SubscriptionView(BaseModel):
    """A subscription as shown (never its secret)."""

    id: str
    url: str
    feed: Literal["all", "grid"]
    levels: list[str]
    sectors: list[str]
    districts: list[str]
    owner: str
    created_at: datetime
    #: How many subjects it is limited to (0: every subject).
    subjects: int = 0


class SubscriptionCreated(SubscriptionView):
    """The new subscription; ``secret`` only when the server generated it."""

    secret: str | None = None


class ReplayView(BaseModel):
    """Dead letters re-delivered, and those still waiting."""

    delivered: int
    remaining: int


def _view(stored: StoredSubscription) -> SubscriptionView:
    sub = stored.subscription
    return SubscriptionView(
        id=sub.id, url=sub.url, feed=sub.feed, levels=sorted(sub.levels),
        sectors=sorted(sub.sectors), districts=sorted(sub.districts),
        owner=stored.owner, created_at=stored.created_at, subjects=len(sub.subjects),
    )  # fmt: skip


def _owned(store: Store, principal: Principal, subscription_id: str) -> StoredSubscription:
    for stored in load_subscriptions(store):
        if stored.subscription.id == subscription_id and (
            principal.role == "admin" or stored.owner == principal.name
        ):
            return stored
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subscription")


class SubscriptionPage(BaseModel):
    """A page of subscriptions, oldest first; ``next`` links the following page."""

    items: list[SubscriptionView]
    next: str | None = None


@router.get("", response_model=SubscriptionPage, responses=problem_responses(503))
def list_subscriptions(
    request: Request,
    response: Response,
    principal: _Manager,
    store: Annotated[Store, Depends(get_store)],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> SubscriptionPage:
    """The subscriptions the caller manages, oldest first, in pages."""
    after = None if cursor is None else decode_cursor(cursor, {}, (int, str))
    owned = [
        stored
        for stored in load_subscriptions(store)
        if (principal.role == "admin" or stored.owner == principal.name)
        and (after is None or _position(stored) > (after[0], after[1]))
    ]
    page = owned[:limit]
    token = encode_cursor(list(_position(page[-1])), {}) if len(owned) > limit else None
    return SubscriptionPage(
        items=[_view(stored) for stored in page], next=link_next(request, response, token, limit)
    )


def _position(stored: StoredSubscription) -> tuple[int, str]:
    """The list's sort key (``created_at``, ``id``), as the store orders it."""
    return milliseconds(stored.created_at), stored.subscription.id


@router.post(
    "",
    response_model=SubscriptionCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 422, 503),
)
async def create_subscription(
    request: SubscriptionRequest,
    principal: _Manager,
    context: Annotated[ApiContext, Depends(get_context)],
) -> SubscriptionCreated:
    """Subscribe ``url`` to the warnings that pass the filters (404: no such watch list)."""
    try:
        # A name that does not resolve yet passes: each delivery checks it again.
        await target_policy(context).check_url(request.url, must_resolve=False)
    except TargetRefused as refused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"webhook target refused: {refused}"
        ) from None
    # The store is the worker thread's own (ApiContext.store), so it is asked for there.
    return await run_in_threadpool(lambda: _create(request, principal, context.store()))


def target_policy(context: ApiContext) -> TargetPolicy:
    """The deployment's webhook target policy."""
    return TargetPolicy(context.settings.webhooks.allow_targets)


def _create(
    request: SubscriptionRequest, principal: Principal, store: Store
) -> SubscriptionCreated:
    """The subscription as asked, stored and audited (its subject filter first)."""
    subjects = set(request.subject_ids)
    if request.watchlist is not None:
        subjects |= set(owned_watchlist(store, principal, request.watchlist).subject_ids)
    generated = None if request.secret else secrets.token_urlsafe(32)
    sub = Subscription(
        id=uuid.uuid4().hex,
        url=request.url,
        secret=request.secret or generated or "",
        feed="grid" if principal.role == "grid" else "all",
        levels=frozenset(request.levels),
        sectors=frozenset(request.sectors),
        districts=frozenset(request.districts),
        subjects=frozenset(subjects),
    )
    stored = StoredSubscription(sub, principal.name, principal.role, datetime.now(UTC))
    if subjects:  # first: a subscription is never live without its subject filter
        save_subscription_subjects(store, sub.id, sub.subjects, request.watchlist or "")
    save_subscription(store, stored)
    audit(store, principal, "subscription_create", sub.id, _view(stored).model_dump(mode="json"))
    return SubscriptionCreated(**_view(stored).model_dump(), secret=generated)


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 503),
)
def delete_subscription(
    subscription_id: _Id, principal: _Manager, store: Annotated[Store, Depends(get_store)]
) -> Response:
    """Stop delivering to the subscription (its dead letters are kept)."""
    stored = _owned(store, principal, subscription_id)
    save_subscription(store, stored, deleted=True)
    audit(
        store, principal, "subscription_delete", subscription_id, {"url": stored.subscription.url}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/replay", response_model=ReplayView, responses=problem_responses(404, 503)
)
async def replay(
    subscription_id: _Id,
    principal: _Manager,
    context: Annotated[ApiContext, Depends(get_context)],
) -> ReplayView:
    """Re-send the subscription's dead letters, oldest first, until one fails."""
    store = context.store()
    stored = await run_in_threadpool(_owned, store, principal, subscription_id)
    policy = target_policy(context)
    async with webhook_client(context.settings.webhooks.timeout_s, policy) as client:
        # One try per letter: the caller sees the outcome now and can replay again.
        result = await replay_dead_letters(
            store, stored.subscription, Deliverer(client, RetryPolicy(attempts=1), targets=policy)
        )
    await run_in_threadpool(
        audit, store, principal, "subscription_replay", subscription_id,
        {"delivered": result.delivered, "remaining": result.remaining},
    )  # fmt: skip
    return ReplayView(delivered=result.delivered, remaining=result.remaining)
