"""API keys and roles: who is calling, and what they may see.

Each key is bound to a role:

===============  ==============================================================
role             may
===============  ==============================================================
``regulator``    credit checks, alerts, policies (read), subscriptions
``supervisor``   credit checks, alerts and policies within their sectors and/or
                 districts (their *scope*), policy changes within it
``leadership``   alerts and policies (read), metrics: the city's overview
``grid``         alerts routed to the grid governance system, their subscriptions
``service_hall`` credit checks (信用核查 at the service counter)
``admin``        everything
===============  ==============================================================

Keys travel in the ``X-API-Key`` header (or ``Authorization: Bearer``, for scrapers).
Only their SHA-256 is configured (``CREDITBRAIN_API__KEYS``); a presented key is
hashed and compared with every configured hash by :func:`hmac.compare_digest`, and
the key itself is never stored or logged.

With no keys configured the API does not start, unless the *demo keys* below
(whose clear text is public) are switched on: ``CREDITBRAIN_API__DEMO_KEYS=true``,
which ``creditbrain demo`` and ``serve`` on the embedded store do by themselves and
announce; :mod:`creditbrain.api.server` refuses them on any address but loopback.

Every authenticated request is charged to its key's rate limit for its class of
route (:mod:`creditbrain.api.ratelimit`) before the route runs; requests with no
valid key are charged to the client's address. Either answers 429 with
``Retry-After`` once spent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from creditbrain.api.ratelimit import GRID_OVERFETCH, RouteClass, read_cost, retry_after
from creditbrain.schemas.policies import Scope
from creditbrain.settings import ApiKeySettings, Settings

Role = Literal["regulator", "supervisor", "leadership", "grid", "service_hall", "admin"]

#: Demo keys (clear text is public: never use them beyond loopback).
DEMO_KEYS: dict[str, ApiKeySettings] = {
    clear: ApiKeySettings(
        name=name,
        role=role,
        sectors=frozenset(sectors),
        districts=frozenset(districts),
        key_sha256=hashlib.sha256(clear.encode()).hexdigest(),
    )
    for clear, name, role, sectors, districts in (
        ("demo-admin", "demo-admin", "admin", (), ()),
        ("demo-regulator", "demo-regulator", "regulator", (), ()),
        (
            "demo-supervisor",
            "demo-supervisor-food-donggang",
            "supervisor",
            ("food_drug",),
            ("371102",),
        ),
        ("demo-leadership", "demo-leadership", "leadership", (), ()),
        ("demo-grid", "demo-grid", "grid", (), ()),
        ("demo-service-hall", "demo-service-hall", "service_hall", (), ()),
    )
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid key."""

    name: str
    role: Role
    sectors: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()

    @property
    def scoped(self) -> bool:
        """Whether what this principal sees is limited to sectors/districts."""
        return self.role == "supervisor"

    def covers(self, sector: str, district: str) -> bool:
        """Whether a subject or alert in ``sector`` and ``district`` is within scope."""
        if not self.scoped:
            return True
        return (not self.sectors or sector in self.sectors) and (
            not self.districts or district in self.districts
        )

    def restrict(self, where: list[str], params: dict[str, object]) -> None:
        """Add the SQL conditions (and their bound values) that keep a query within scope.

        The query's table has ``sector`` and ``district`` columns; an unscoped
        principal adds nothing.
        """
        if self.scoped and self.sectors:
            where.append("sector IN {scope_sectors:Array(String)}")
            params["scope_sectors"] = sorted(self.sectors)
        if self.scoped and self.districts:
            where.append("district IN {scope_districts:Array(String)}")
            params["scope_districts"] = sorted(self.districts)

    def may_change(self, scope: Scope) -> bool:
        """Whether this principal may set the policy of ``scope`` (narrower or equal to theirs)."""
        if self.role == "admin":
            return True
        if self.role != "supervisor":
            return False
        return (not self.sectors or scope.sector in self.sectors) and (
            not self.districts or scope.district in self.districts
        )

    def may_see(self, scope: Scope) -> bool:
        """Whether the policy of ``scope`` applies somewhere within this principal's scope."""
        if not self.scoped:
            return True
        return (not self.sectors or scope.sector in (None, *self.sectors)) and (
            not self.districts or scope.district in (None, *self.districts)
        )


class KeyRing:
    """The configured keys by hash; :meth:`find` checks a presented key."""

    def __init__(self, keys: Iterable[ApiKeySettings]) -> None:
        self._keys = tuple(keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """The configured keys, or the demo keys when none are configured and demo is on.

        >>> KeyRing.from_settings(Settings(api={"demo_keys": True})).is_demo
        True
        >>> KeyRing.from_settings(Settings()).empty  # not switched on: no key at all
        True
        """
        if settings.api.keys:
            return cls(settings.api.keys)
        return cls(DEMO_KEYS.values() if settings.api.demo_keys else ())

    @property
    def empty(self) -> bool:
        """Whether no key at all is accepted (nothing configured, demo keys off)."""
        return not self._keys

    @property
    def is_demo(self) -> bool:
        """Whether the ring holds the public demo keys."""
        return bool(self._keys) and set(self._keys) <= set(DEMO_KEYS.values())

    def find(self, presented: str) -> Principal | None:
        """The principal of ``presented``, or ``None``; every hash is compared."""
        digest = hashlib.sha256(presented.encode()).hexdigest()
        found: ApiKeySettings | None = None
        for key in self._keys:
            if hmac.compare_digest(digest, key.key_sha256):
                found = key
        if found is None:
            return None
        return Principal(found.name, found.role, found.sectors, found.districts)


_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def route_class(request: Request) -> RouteClass:
    """Which bucket a request is charged to: credit checks, other reads, writes."""
    if request.url.path.startswith("/subjects"):
        return "check"
    return "read" if request.method in ("GET", "HEAD") else "write"


def _charge(request: Request, route: RouteClass, key: str, cost: float) -> None:
    context = request.app.state.context
    wait = context.limits.take(route, key, cost)
    if wait > 0:
        context.counters[f"rate_limited_{route}_total"] += 1
        if route == "check":
            context.counters["credit_checks_rate_limited_total"] += 1
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many requests with this key; slow down"
            if route != "refused"
            else "too many requests without a valid key",
            headers={"Retry-After": retry_after(wait)},
        )


async def authenticated(
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from ``X-API-Key`` or ``Authorization: Bearer``; 401 otherwise.

    The request is charged to the caller's rate limit here, so that every route is
    limited and a request over the limit costs nothing more than this (429). It runs
    on the event loop (a hash and a lookup), not in the thread pool that the routes'
    store queries may have filled: a refusal never waits for a thread.
    """
    presented = api_key or (bearer.credentials if bearer else None)
    ring: KeyRing = request.app.state.context.keys
    principal = ring.find(presented) if presented else None
    if principal is None:
        client = request.client.host if request.client else "unknown"
        _charge(request, "refused", client, 1.0)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required (X-API-Key header)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    route = route_class(request)
    grid_list = principal.role == "grid" and request.url.path == "/alerts"
    cost = 1.0
    if route == "read":
        cost = read_cost(request.query_params, GRID_OVERFETCH if grid_list else 1)
    _charge(request, route, principal.name, cost)
    return principal


class Allow:
    """Dependency: the caller, if their role is one of ``roles``; 403 otherwise."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this")
        return principal


def out_of_scope() -> HTTPException:
    """The 403 of a supervisor reaching outside their sectors/districts."""
    return HTTPException(status.HTTP_403_FORBIDDEN, "outside your sectors/districts")
