"""Event time (事件时间): the units and the city's clock every part reckons in.

Every time inside the system is an integer of epoch milliseconds (UTC), taken from
the event's ``occurred_at`` and never from a wall clock, so a replay of history
gives the same scores and warnings as the live stream. The city's calendar days
begin at midnight China Standard Time (``+08:00``, no daylight saving), which is
also the offset every timestamp on the wire carries.

>>> from datetime import datetime
>>> moment = datetime(2026, 3, 4, 0, 30, tzinfo=CST)
>>> to_epoch_ms(moment) // DAY_MS, day_of(to_epoch_ms(moment))
(20515, 20516)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

__all__ = ["CST", "DAY_MS", "day_of", "from_epoch_ms", "to_epoch_ms"]

#: One day of event time, in milliseconds.
DAY_MS = 86_400_000
#: China Standard Time: a fixed offset, so exact for any date.
CST = timezone(timedelta(hours=8))

_CST_MS = 8 * 3600 * 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC of an aware datetime (sub-ms floored, also before 1970).

    Integer arithmetic on the timedelta, so the value is exact by construction;
    every time in the state and every "as of" should come from here.

    >>> to_epoch_ms(datetime.fromisoformat("2026-03-04T09:30:00.123+08:00"))
    1772587800123
    >>> to_epoch_ms(datetime.fromisoformat("1969-12-31T23:59:59.9995+00:00"))
    -1
    """
    return (moment - _EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    """The UTC datetime of an epoch-millisecond value.

    >>> from_epoch_ms(1772587800123).isoformat()
    '2026-03-04T01:30:00.123000+00:00'
    """
    return _EPOCH + timedelta(milliseconds=ms)


def day_of(epoch_ms: int) -> int:
    """Days since 1970-01-01 of the CST calendar day holding ``epoch_ms``.

    >>> day_of(0), day_of(16 * 3600 * 1000 - 1), day_of(16 * 3600 * 1000)
    (0, 0, 1)
    """
    return (epoch_ms + _CST_MS) // DAY_MS
