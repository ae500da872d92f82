"""``/watchlists``: named lists of subjects, and the warnings of their subjects.

A regulator, a supervisor, the grid system or an admin makes a watch list (a name
and up to 10,000 subject ids or person pseudonyms); ``GET /watchlists/{id}/warnings``
pages through the warnings of its subjects exactly like ``/alerts`` (newest first,
keyset cursor, a supervisor within their scope, the grid the warnings routed to it).
A webhook subscription may be limited to a watch list (``POST /subscriptions`` with
``watchlist``): it receives exactly the warnings of the list's subjects. A watch list
is seen by the key that made it and by admins.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from pydantic import BaseModel, Field

from creditbrain.api.alerts import AlertPage, _page
from creditbrain.api.auth import Allow, Principal
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.pages import Cursor, Limit, decode_cursor, encode_cursor, link_next
from creditbrain.api.problems import FiniteJsonRoute
from creditbrain.api.responses import problem_responses
from creditbrain.api.views import with_acknowledgements
from creditbrain.infra.store import Store

router = APIRouter(prefix="/watchlists", tags=["watch lists"], route_class=FiniteJsonRoute)

#: The most subjects one watch list holds.
MAX_SUBJECTS = 10_000
_Watchers = Allow("regulator", "supervisor", "grid", "admin")
_Id = Annotated[str, Path(max_length=64, description="The watch list's id.")]
_COLUMNS = ("id", "name", "subject_ids", "owner", "role", "created_at", "version")


class WatchlistRequest(BaseModel):
    """A new watch list: its name and its subjects."""

    name: str = Field(min_length=1, max_length=200)
    subject_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=MAX_SUBJECTS, description="Subject ids or person pseudonyms."
    )


class Watchlist(BaseModel):
    """A watch list as kept."""

    id: str
    name: str
    subject_ids: list[str]
    owner: str
    created_at: datetime


@router.post(
    "",
    response_model=Watchlist,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(503),
)
def create_watchlist(
    body: WatchlistRequest,
    principal: Annotated[Principal, Depends(_Watchers)],
    store: Annotated[Store, Depends(get_store)],
) -> Watchlist:
    """Keep a named list of subjects (duplicates collapse)."""
    made = Watchlist(
        id=uuid.uuid4().hex,
        name=body.name.strip(),
        subject_ids=sorted(set(body.subject_ids)),
        owner=principal.name,
        created_at=datetime.now(UTC),
    )
    row = made.model_dump() | {"role": principal.role, "version": time.time_ns()}
    store.insert_rows("watchlists", [row], _COLUMNS)
    details = {"id": made.id, "name": made.name, "subjects": len(made.subject_ids)}
    audit(store, principal, "watchlist_create", made.id, details)
    return made


@router.get("/{watchlist_id}", response_model=Watchlist, responses=problem_responses(404, 503))
def get_watchlist(
    watchlist_id: _Id,
    principal: Annotated[Principal, Depends(_Watchers)],
    store: Annotated[Store, Depends(get_store)],
) -> Watchlist:
    """The watch list, to its maker or an admin."""
    return owned_watchlist(store, principal, watchlist_id)


@router.get(
    "/{watchlist_id}/warnings", response_model=AlertPage, responses=problem_responses(404, 503)
)
def watchlist_warnings(
    request: Request,
    response: Response,
    watchlist_id: _Id,
    principal: Annotated[Principal, Depends(_Watchers)],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> AlertPage:
    """The warnings of the list's subjects, newest first, in pages like ``/alerts``."""
    watched = owned_watchlist(store, principal, watchlist_id)
    filters: dict[str, object] = {"watchlist": watched.id}
    where = ["subject_id IN {watched:Array(String)}"]
    params: dict[str, object] = {"watched": watched.subject_ids}
    principal.restrict(where, params)
    after = None if cursor is None else decode_cursor(cursor, filters, (int, str))
    policies = context.policies() if principal.role == "grid" else None
    page, last = _page(store, " AND ".join(where), params, after, limit, policies)
    token = None if last is None else encode_cursor(last, filters)
    items = with_acknowledgements(store, page)
    return AlertPage(items=items, next=link_next(request, response, token, limit))


def owned_watchlist(store: Store, principal: Principal, watchlist_id: str) -> Watchlist:
    """The watch list if the caller made it (or is an admin); 404 otherwise."""
    rows = store.query_rows(
        "SELECT id, name, subject_ids, owner, created_at FROM watchlists FINAL "
        "WHERE id = {id:String}",
        {"id": watchlist_id},
    )
    if rows and (principal.role == "admin" or rows[0]["owner"] == principal.name):
        row = dict(rows[0])
        made = row["created_at"]
        if isinstance(made, datetime) and made.tzinfo is None:  # the store's UTC, unmarked
            row["created_at"] = made.replace(tzinfo=UTC)
        return Watchlist.model_validate(row)
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such watch list")
