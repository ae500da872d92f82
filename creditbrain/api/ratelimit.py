"""Per-key rate limits of every route: token buckets in memory, one set per route class.

Each key may spend ``burst`` at once and ``per_minute`` a minute on average, in
each class of route separately, so that a key flooding one class (say, listing
alerts) does not use up what it, or anyone else, may spend on another (credit
checks). A request costs what it asks the store to do: a point read 1, a list 1
plus 1 per 100 rows asked for (``GET /alerts?limit=1000`` costs 11).

The buckets live in this process (one API process per deployment in the
embedded mode; behind a gateway each replica limits on its own, which the
gateway's own limit complements).

>>> limiter = TokenBuckets(per_minute=60, burst=2)
>>> limiter.take("k", now=0.0), limiter.take("k", now=0.0), limiter.take("k", now=0.0)
(0.0, 0.0, 1.0)
>>> limiter.take("k", now=1.0)
0.0
>>> limiter.take("k", cost=2.0, now=1.0)  # empty: two tokens take two seconds
2.0
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from creditbrain.settings import ApiSettings

#: ``check``: credit checks; ``read``: other GETs; ``write``: the rest; ``refused``:
#: requests without a valid key, by client address.
RouteClass = Literal["check", "read", "write", "refused"]

#: Rows of a list that cost one more token.
ROWS_PER_TOKEN = 100
#: The grid's alert list reads this many rows per row shown (its policy filter drops
#: some afterwards, :mod:`creditbrain.api.alerts`), and is charged for them.
GRID_OVERFETCH = 4


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key; :meth:`take` spends tokens or says how long to wait."""

    def __init__(self, per_minute: float, burst: int) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        # Sync endpoints run in a thread pool: two requests by one key may race.
        self._lock = threading.Lock()

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Spend ``cost`` tokens of ``key``: 0.0 if allowed, else seconds until they are there.

        A cost above the burst is charged as the whole burst: such a request is
        possible, but only with a full bucket.
        """
        now = time.monotonic() if now is None else now
        cost = min(max(cost, 0.0), self.burst)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / self.rate


class RouteLimits:
    """The buckets of each route class, as configured in ``CREDITBRAIN_API__*``.

    >>> limits = RouteLimits(ApiSettings(reads_per_minute=60, read_burst=11))
    >>> limits.take("read", "grid-1", read_cost({"limit": "1000"}), now=0.0)
    0.0
    >>> limits.take("read", "grid-1", 1.0, now=0.0)  # the next read waits a second
    1.0
    >>> limits.take("check", "grid-1", 1.0, now=0.0)  # checks are counted apart
    0.0
    """

    def __init__(self, api: ApiSettings) -> None:
        self.buckets: dict[RouteClass, TokenBuckets] = {
            "check": TokenBuckets(api.credit_checks_per_minute, api.credit_check_burst),
            "read": TokenBuckets(api.reads_per_minute, api.read_burst),
            "write": TokenBuckets(api.writes_per_minute, api.write_burst),
            "refused": TokenBuckets(api.refused_keys_per_minute, 10),
        }

    def take(self, route: RouteClass, key: str, cost: float, now: float | None = None) -> float:
        """Spend ``cost`` of ``key`` in ``route``'s bucket: 0.0, or seconds to wait."""
        return self.buckets[route].take(key, cost, now)


def read_cost(query: Mapping[str, str], overfetch: int = 1) -> float:
    """What a read costs: 1, plus 1 per started 100 rows it asks the store for.

    >>> read_cost({}), read_cost({"limit": "100"}), read_cost({"limit": "1000"})
    (1.0, 2.0, 11.0)
    >>> read_cost({"limit": "1000"}, overfetch=GRID_OVERFETCH)
    41.0
    >>> read_cost({"limit": "nonsense"})  # refused later (422), charged as a point read
    1.0
    """
    raw = query.get("limit")
    try:
        rows = int(str(raw)) if raw is not None else 0
    except ValueError:
        rows = 0
    return 1.0 + math.ceil(max(rows, 0) * overfetch / ROWS_PER_TOKEN)


def retry_after(wait: float) -> str:
    """The ``Retry-After`` header of a wait: whole seconds, at least 1.

    >>> retry_after(0.2), retry_after(3.01)
    ('1', '4')
    """
    return str(max(1, math.ceil(wait)))
