"""Pages of a list: ``limit``, an opaque ``cursor`` and the link to the next page.

A list route answers ``{"items": [...], "next": "/alerts?...&cursor=..."}`` and the
same link in a ``Link: <...>; rel="next"`` header. Only a missing ``next`` ends the
list: a page may hold fewer than ``limit`` items when a filter applied after the
query (the grid's routing) drops rows.
The cursor is the sort key of the page's last item (keyset pagination), not an
offset, so rows inserted while a caller pages through a list neither repeat an item
nor skip one. It also carries a fingerprint of the filters it was made under: given
with other filters, it is refused (422) rather than silently mixing two lists.

>>> filters = {"level": "red"}
>>> cursor = encode_cursor([1767225600000, "a1"], filters)
>>> decode_cursor(cursor, filters, (int, str))
[1767225600000, 'a1']
>>> decode_cursor(cursor, {"level": "blue"}, (int, str))
Traceback (most recent call last):
...
fastapi.exceptions.RequestValidationError: ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError

from creditbrain.api.problems import invalid
from creditbrain.api.times import in_store_range

Position = list[int | str]

#: ``?limit=``: how many items a page holds.
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page (1 to 1000).")]
#: ``?cursor=``: where the previous page ended, as its ``next`` link gave it.
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque; copy it from the previous page's `next` link."),
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _fingerprint(filters: Mapping[str, object]) -> str:
    canonical = orjson.dumps(filters, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()[:16]


def encode_cursor(position: Sequence[int | str], filters: Mapping[str, object]) -> str:
    """The cursor of the page after ``position`` under ``filters``."""
    payload = orjson.dumps({"after": list(position), "of": _fingerprint(filters)})
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode()


def decode_cursor(
    cursor: str, filters: Mapping[str, object], kinds: Sequence[type[int] | type[str]]
) -> Position:
    """The position in ``cursor``: one value of each of ``kinds``; 422 if it is not ours."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):  # orjson's decode error is a ValueError
        payload = None
    position = payload.get("after") if isinstance(payload, dict) else None
    if (
        not isinstance(position, list)
        or len(position) != len(kinds)
        or not all(type(value) is kind for value, kind in zip(position, kinds, strict=True))
    ):
        raise _bad_cursor("not a cursor this API gave out")
    if payload.get("of") != _fingerprint(filters):
        raise _bad_cursor("the cursor belongs to a list with other filters")
    return position


def _bad_cursor(message: str) -> RequestValidationError:
    return invalid(("query", "cursor"), message)


def milliseconds(moment: datetime) -> int:
    """Milliseconds since the epoch: how a time goes into a cursor.

    >>> milliseconds(datetime(2026, 1, 1, tzinfo=UTC))
    1767225600000
    """
    return (moment - _EPOCH) // _MILLISECOND


def moment_of(value: int) -> datetime:
    """The inverse of :func:`milliseconds`; 422 if the store could not hold the time.

    >>> moment_of(1767225600000)
    datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    try:
        return in_store_range(_EPOCH + value * _MILLISECOND)
    except (OverflowError, ValueError):
        raise _bad_cursor("not a cursor this API gave out") from None


def link_next(request: Request, response: Response, cursor: str | None, limit: int) -> str | None:
    """The next page's link (relative to the host), also set as the ``Link`` header."""
    if cursor is None:
        return None
    url = request.url.include_query_params(cursor=cursor, limit=limit)
    link = f"{url.path}?{url.query}"
    response.headers["Link"] = f'<{link}>; rel="next"'
    return link
