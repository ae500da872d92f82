"""Per-key rate limit of credit checks: a token bucket in memory.

Each key may make ``burst`` checks at once and ``per_minute`` checks a minute on
average. The buckets live in this process (one API process per deployment in the
embedded mode; behind a gateway each replica limits on its own, which the gateway's
own limit complements).

>>> limiter = TokenBuckets(per_minute=60, burst=2)
>>> limiter.take("k", now=0.0), limiter.take("k", now=0.0), limiter.take("k", now=0.0)
(0.0, 0.0, 1.0)
>>> limiter.take("k", now=1.0)
0.0
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key; :meth:`take` spends a token or says how long to wait."""

    def __init__(self, per_minute: float, burst: int) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate limit needs per_minute > 0 and burst >= 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, _Bucket] = {}
        # Sync endpoints run in a thread pool: two checks by one key may race.
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token of ``key``: 0.0 if allowed, else seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate
