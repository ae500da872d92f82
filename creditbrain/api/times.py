"""Times a caller may give: with a zone, and inside what the store can hold.

The store keeps times as ``DateTime64(3, 'UTC')``, whose range is 1900-01-01 to
2299-12-31 UTC. A time outside it is refused as a 422 before it reaches a query: the
store would otherwise fail (a 503 that blames the store for the caller's input), and
converting a time near year 1 or 9999 to UTC overflows Python's datetime.

>>> from datetime import timedelta, timezone
>>> in_store_range(datetime(2026, 3, 5, 10, tzinfo=timezone(timedelta(hours=8))))
datetime.datetime(2026, 3, 5, 2, 0, tzinfo=datetime.timezone.utc)
>>> in_store_range(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
Traceback (most recent call last):
...
ValueError: outside the times the store holds (1900-01-01 to 2299-12-31 UTC)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2299, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
_OUTSIDE = "outside the times the store holds (1900-01-01 to 2299-12-31 UTC)"


def in_store_range(moment: datetime) -> datetime:
    """``moment`` in UTC; :class:`ValueError` if the store cannot hold it."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(_OUTSIDE) from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(_OUTSIDE)
    return utc


#: A query parameter of time: ISO 8601 with a zone, converted to UTC, within the store's range.
StoreTime = Annotated[AwareDatetime, AfterValidator(in_store_range)]
