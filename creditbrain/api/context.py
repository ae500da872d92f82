"""What every route needs: the settings, the store, the policy publisher, the counters.

:func:`~creditbrain.api.app.create_app` puts one :class:`ApiContext` on
``app.state.context``; routes reach it through the dependencies below, so a test
builds an app around a real store and a fake publisher without patching anything.

Each thread that serves requests gets a store of its own, opened on its first use and
kept: clickhouse-connect serialises the calls on one client (a lock per chDB handle),
so one store shared by the API's threads made credit checks queue behind each other
at about 26 per second whatever the concurrency. chDB releases the GIL while a query
runs, so with a client per thread the checks run side by side up to the cores. A
client costs ~20 ms to open; a thread that has ended hands its store to the next.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Protocol

import orjson
from fastapi import Depends, Request

from creditbrain.alerts.policy import PolicySet
from creditbrain.api.auth import KeyRing, Principal
from creditbrain.api.measures import MeasureCatalogue
from creditbrain.api.policy_history import policies_in_audit
from creditbrain.api.ratelimit import TokenBuckets
from creditbrain.infra.store import Store
from creditbrain.settings import Settings

AUDIT_COLUMNS = ("ts", "actor", "role", "action", "subject_id", "purpose", "details")


class PolicyPublisher(Protocol):
    """Sends one message to a topic; ``value=None`` is a tombstone (deletes the key)."""

    async def send(self, topic: str, key: bytes, value: bytes | None) -> None: ...


#: ``stats() -> {metric name: value}`` for ``/metrics``; names ending ``_total`` are counters.
Stats = Callable[[], Mapping[str, float]]
#: ``sink_lag() -> messages the ClickHouse sink is behind``, ``None`` if unknown.
SinkLag = Callable[[], float | None]
#: ``policies(store) -> the set in force``.
PolicySource = Callable[[Store], PolicySet]


def policies_from_audit(store: Store) -> PolicySet:
    """The set in force, rebuilt from the audited changes (each scope's latest version).

    For an API without a broker; ``serve`` passes the worker's live set and
    ``creditbrain api`` follows ``credit.policies`` itself.
    """
    return policies_in_audit(store)


@dataclass
class ApiContext:
    """The app's collaborators and its own small state."""

    settings: Settings
    keys: KeyRing
    store_factory: Callable[[], Store]
    publisher: PolicyPublisher
    catalogue: MeasureCatalogue
    limiter: TokenBuckets
    policy_source: PolicySource = policies_from_audit
    stats: Stats | None = None
    sink_lag: SinkLag | None = None
    counters: Counter[str] = field(default_factory=Counter)
    _stores: dict[threading.Thread, Store] = field(default_factory=dict)
    #: One lock per policy scope: the changes of a scope are made one at a time.
    policy_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def store(self) -> Store:
        """The calling thread's store, opened on its first use (see the module docstring)."""
        me = threading.current_thread()
        with self._lock:
            mine = self._stores.get(me)
            if mine is None:
                # The threadpool retires idle threads: their stores are reused, not leaked.
                gone = next((thread for thread in self._stores if not thread.is_alive()), None)
                if gone is not None:
                    mine = self._stores[me] = self._stores.pop(gone)
        if mine is None:
            mine = self.store_factory()  # outside the lock: other threads go on meanwhile
            with self._lock:
                self._stores[me] = mine
        return mine

    def policies(self) -> PolicySet:
        """The policy set in force."""
        return self.policy_source(self.store())


def get_context(request: Request) -> ApiContext:
    """Dependency: the app's context."""
    context: ApiContext = request.app.state.context
    return context


def get_store(context: Annotated[ApiContext, Depends(get_context)]) -> Store:
    """Dependency: the store."""
    return context.store()


def audit(
    store: Store,
    principal: Principal,
    action: str,
    subject_id: str,
    details: Mapping[str, object],
    purpose: str = "",
) -> None:
    """Append one audit row: who (key name and role) did what, to what, when, why."""
    row = {
        "ts": datetime.now(UTC),
        "actor": principal.name,
        "role": principal.role,
        "action": action,
        "subject_id": subject_id,
        "purpose": purpose,
        "details": orjson.dumps(details, default=str).decode(),
    }
    store.insert_rows("audit", [row], AUDIT_COLUMNS)
