"""Webhook delivery of warnings, as rules without a network: who gets what, signed how,
retried when, and what is kept when a subscriber never answers.

A *subscription* names a URL, the secret both sides share and filters on the
warning's level, sector and district (an empty filter admits everything). Its
*feed* says which copy it receives: ``all`` (``credit.warnings``, for regulators
and supervisors' systems) or ``grid`` (``credit.warnings.grid``, the grid
governance system's copy with persons' names masked).

Signatures (CONTRACT.md §2) follow the Standard Webhooks specification. Every POST
carries::

    webhook-id: <the CloudEvents id, alert id : version>
    webhook-timestamp: <Unix seconds when this try was signed>
    webhook-signature: v1,<base64 HMAC-SHA256(secret, id + "." + timestamp + "." + body)>

(:func:`webhook_headers`), the key being the UTF-8 bytes of the subscription's secret.
A receiver recomputes the HMAC over the bytes it received, before parsing them,
compares in constant time and refuses a timestamp more than five minutes off its
clock (:func:`verify_webhook`, which a receiver may import or copy): the id and the
timestamp inside the signature stop a captured delivery from being replayed later.
Each try is signed afresh, so a retry or a dead letter re-sent hours later carries a
current timestamp. The older header::

    X-Creditbrain-Signature: sha256=<hex HMAC-SHA256(secret, raw request body)>

is still sent (:func:`sign`, :func:`verify_signature`) until the next major
version. The body is the warning's CloudEvent exactly as it travelled on the topic.

Retries: a delivery is tried ``attempts`` times; between two tries it waits
``min(max_delay, base_delay * 2**n)`` (:meth:`RetryPolicy.delays`). Success is any
2xx answer; a 4xx other than 408/425/429 means the subscriber refuses this body, so
trying again cannot help (:func:`classify_status`). After the last failure the
body becomes a :class:`DeadLetter`, kept for replay, so nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tenacity.wait import wait_base

from creditbrain.core.retrying import doubling, waits

SIGNATURE_HEADER = "X-Creditbrain-Signature"
_SCHEME = "sha256="
#: Standard Webhooks headers.
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
#: How far a delivery's timestamp may be from the receiver's clock, in seconds.
TIMESTAMP_TOLERANCE_S = 300
_V1 = "v1,"

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
    levels, sectors, districts, subjects
        Filters; empty admits every value. ``subjects``: subject ids (or person
        pseudonyms), from the subscription itself or a watch list.
    """

    id: str
    url: str
    secret: str
    feed: Feed = "all"
    levels: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()

    def wants(self, level: str, sector: str, district: str, subject: str = "") -> bool:
        """Whether a warning with this level, sector and district passes the filters.

        >>> s = Subscription("s1", "http://x", "k", levels=frozenset({"red"}))
        >>> s.wants("red", "finance", "371102"), s.wants("blue", "finance", "371102")
        (True, False)
        >>> w = Subscription("s2", "http://x", "k", subjects=frozenset({"A"}))
        >>> w.wants("red", "finance", "371102", "A"), w.wants("red", "finance", "371102", "B")
        (True, False)
        """
        return (
            (not self.subjects or subject in self.subjects)
            and (not self.levels or level in self.levels)
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
    subject = str(doc.get("subject") or "")  # the CloudEvents subject: the subject's id
    return [
        s for s in subscriptions if s.feed == feed and s.wants(level, sector, district, subject)
    ]


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


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC of ``id.timestamp.body``.

    >>> sign_webhook("k", "a1:1", 1772676002, b"{}")
    'v1,2LdtMcTD3zAvcOh/jsR2cQxF1ouWYpzh9FGLa4Vt5hg='
    """
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return _V1 + base64.b64encode(digest).decode()


def webhook_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every signature header of one try: Standard Webhooks' three and the older one.

    >>> sorted(webhook_headers("k", "a1:1", 1772676002, b"{}"))
    ['X-Creditbrain-Signature', 'webhook-id', 'webhook-signature', 'webhook-timestamp']
    """
    return {
        WEBHOOK_ID: msg_id,
        WEBHOOK_TIMESTAMP: str(timestamp),
        WEBHOOK_SIGNATURE: sign_webhook(secret, msg_id, timestamp, body),
        SIGNATURE_HEADER: sign(secret, body),
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance_s: int = TIMESTAMP_TOLERANCE_S,
) -> bool:
    """A receiver's check of a delivery: signed with ``secret`` and signed recently.

    ``headers`` as received (names in any case), ``body`` the raw bytes before any
    parsing, ``now`` the receiver's clock (Unix seconds). False when a header is
    missing, the timestamp is more than ``tolerance_s`` seconds off ``now`` (either
    way) or no ``v1`` signature in the space-separated list matches.

    >>> body = b'{"id":"a1:1"}'
    >>> sent = webhook_headers("k", "a1:1", 1772676002, body)
    >>> verify_webhook("k", sent, body, now=1772676002 + 60)
    True
    >>> verify_webhook("k", sent, body, now=1772676002 + 301)  # too late: a replay
    False
    >>> verify_webhook("other", sent, body, now=1772676002)
    False
    >>> verify_webhook("k", {**sent, "webhook-id": "a1:2"}, body, now=1772676002)
    False
    """
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id = lower.get(WEBHOOK_ID)
    stamp = lower.get(WEBHOOK_TIMESTAMP, "")
    signatures = lower.get(WEBHOOK_SIGNATURE)
    if not msg_id or not signatures or not stamp.isdigit():
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign_webhook(secret, msg_id, timestamp, body)[len(_V1) :]
    for candidate in signatures.split(" "):
        if not candidate.startswith(_V1):
            continue
        try:
            # Compared as decoded bytes so that padding or spacing cannot matter.
            given = base64.b64decode(candidate[len(_V1) :], validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, base64.b64decode(expected)):
            return True
    return False


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

    def wait(self) -> wait_base:
        """The schedule of waits, for :class:`tenacity.AsyncRetrying`."""
        return doubling(self.base_delay, self.max_delay)

    def delays(self) -> tuple[float, ...]:
        """The waits between consecutive tries (``attempts - 1`` of them)."""
        return waits(self.wait(), self.attempts)


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
