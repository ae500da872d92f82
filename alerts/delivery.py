"""Webhook delivery of warnings, as rules without a network: who gets what, signed how,
retried when, and what is kept when a subscriber never answers.

A *subscription* names a URL, the secret both sides share and filters on the
warning's level, sector and district (an empty filter admits everything). Its
*feed* says which copy it receives: ``all`` (``credit.warnings``, for regulators
and supervisors' systems) or ``grid`` (``credit.warnings.grid``, the grid
governance system's copy with persons' names masked).

Signature (CONTRACT.md §2): every POST carries the header::

    X-Creditbrain-Signature: sha256=<hex HMAC-SHA256(secret, raw request body)>

so a receiver recomputes the HMAC over the bytes it received, before parsing them,
and compares in constant time (:func:`verify_signature`). The body is the warning's
CloudEvent exactly as it travelled on the topic.

Retries: a delivery is tried ``attempts`` times; between two tries it waits
``min(max_delay, base_delay * 2**n)`` (:meth:`RetryPolicy.delays`). Success is any
2xx answer; a 4xx other than 408/425/429 means the subscriber refuses this body, so
trying again cannot help (:func:`classify_status`). After the last failure the
body becomes a :class:`DeadLetter`, kept for replay, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SIGNATURE_HEADER = "X-Creditbrain-Signature"
_SCHEME = "sha256="

Feed = Literal["all", "grid"]
Outcome = Literal["delivered", "retry", "give_up"]
#: Client errors that say "later", not "never".
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook subscriber and the warnings it wants.

    Parameters
    ----------
    id
        Stable id; dead letters refer to it.
    url
        Where warnings are POSTed.
    secret
        Shared HMAC key of the signature.
    feed
        ``all`` or ``grid`` (see the module's docstring).
    levels, sectors, districts
        Filters; empty admits every value.
    """

    id: str
    url: str
    secret: str
    feed: Feed = "all"
    levels: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()

    def wants(self, level: str, sector: str, district: str) -> bool:
        """Whether a warning with this level, sector and district passes the filters.

        >>> s = Subscription("s1", "http://x", "k", levels=frozenset({"red"}))
        >>> s.wants("red", "finance", "371102"), s.wants("blue", "finance", "371102")
        (True, False)
        """
        return (
            (not self.levels or level in self.levels)
            and (not self.sectors or sector in self.sectors)
            and (not self.districts or district in self.districts)
        )


def warning_facets(doc: Mapping[str, object]) -> tuple[str, str, str]:
    """``(level, sector, district)`` of a warning document (missing parts: ``""``).

    >>> warning_facets({"data": {"level": "red", "sector": "finance", "district": "371102"}})
    ('red', 'finance', '371102')
    >>> warning_facets({"data": None})
    ('', '', '')
    """
    data = doc.get("data")
    if not isinstance(data, Mapping):
        return "", "", ""
    return (
        str(data.get("level") or ""),
        str(data.get("sector") or ""),
        str(data.get("district") or ""),
    )


def matching(
    subscriptions: Iterable[Subscription], feed: Feed, doc: Mapping[str, object]
) -> list[Subscription]:
    """The subscriptions of ``feed`` that want the warning ``doc``.

    >>> subs = [Subscription("a", "u", "k"), Subscription("b", "u", "k", feed="grid")]
    >>> [s.id for s in matching(subs, "all", {"data": {"level": "red"}})]
    ['a']
    """
    level, sector, district = warning_facets(doc)
    return [s for s in subscriptions if s.feed == feed and s.wants(level, sector, district)]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Creditbrain-Signature`` value of ``body``: ``sha256=`` and the HMAC in hex.

    >>> sign("topsecret", b'{"id":"a1"}')[:7]
    'sha256='
    >>> len(sign("topsecret", b""))
    71
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _SCHEME + digest


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant time).

    >>> body = b'{"id":"a1"}'
    >>> good = sign("k", body)
    >>> verify_signature("k", body, good), verify_signature("k", body + b" ", good)
    (True, False)
    >>> verify_signature("k", body, None)
    False
    """
    if header is None or not header.startswith(_SCHEME):
        return False
    return hmac.compare_digest(header, sign(secret, body))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a delivery is tried.

    Parameters
    ----------
    attempts
        Tries in all, the first included (at least 1).
    base_delay
        Seconds before the second try; each later wait doubles ...
    max_delay
        ... up to this cap.

    Examples
    --------
    >>> RetryPolicy(attempts=5, base_delay=1.0, max_delay=5.0).delays()
    (1.0, 2.0, 4.0, 5.0)
    >>> RetryPolicy(attempts=1, base_delay=1.0, max_delay=5.0).delays()
    ()
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("a retry policy needs attempts >= 1 and delays >= 0")

    def delays(self) -> tuple[float, ...]:
        """The waits between consecutive tries (``attempts - 1`` of them)."""
        return tuple(
            min(self.max_delay, self.base_delay * 2.0**n) for n in range(self.attempts - 1)
        )


def classify_status(status: int) -> Outcome:
    """What an HTTP answer means for the delivery.

    >>> classify_status(204), classify_status(503), classify_status(429), classify_status(404)
    ('delivered', 'retry', 'retry', 'give_up')
    """
    if 200 <= status < 300:
        return "delivered"
    if 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS:
        return "give_up"
    return "retry"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A warning that could not be delivered to one subscriber, kept for replay.

    Its :attr:`id` depends only on the subscription and the body, so the same warning
    dead-lettered twice (a redelivery after a crash) is one row in the store.
    """

    subscription_id: str
    alert_id: str
    url: str
    body: bytes
    attempts: int
    last_error: str
    failed_at: datetime

    @property
    def id(self) -> str:
        """Stable id: SHA-256 of subscription id and body, 32 hex digits."""
        digest = hashlib.sha256(self.subscription_id.encode() + b"\x00" + self.body)
        return digest.hexdigest()[:32]

    def row(self) -> dict[str, object]:
        """The ``webhook_dead_letters`` row (``replayed_at`` unset)."""
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "alert_id": self.alert_id,
            "url": self.url,
            "body": self.body.decode("utf-8", errors="replace"),
            "attempts": self.attempts,
            "last_error": self.last_error[:1000],
            "failed_at": self.failed_at,
            "replayed_at": None,
        }


DEAD_LETTER_COLUMNS = (
    "id",
    "subscription_id",
    "alert_id",
    "url",
    "body",
    "attempts",
    "last_error",
    "failed_at",
    "replayed_at",
)
