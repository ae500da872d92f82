"""One simulated message as it goes on the wire, and the envelope every event shares.

Lines are compact UTF-8 JSON, envelope first and payload last; the subject's part
(``subject``, ``sector``, ``district``) comes ready-made from the population, and
timestamps carry ``+08:00``.

Examples
--------
>>> import random
>>> new_event_id(random.Random(1))
'...-...-4...-...-...'
>>> event = SimEvent("repair", b"91371102MA00000001", b"{}", 1735660800, "e1", "e0")
>>> event.topic_suffix, event.occurred_at.isoformat()
('events.repair', '2025-01-01T00:00:00+08:00')
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from creditbrain.core.eventtime import CST
from creditbrain.schemas.contract import KIND_TO_TOPIC
from creditbrain.simulator.calendar import DAY, Clock
from creditbrain.simulator.population import Population

_HOUR = 3_600
_LINE = (
    b'{"schema_version":1,"event_id":"%s","kind":"%s",%s,"source":"%s",'
    b'"occurred_at":"%s%s","reported_at":"%s%s","payload":%s}'
)
_VERSION_MASK = ~(0xF << 76) & ~(0x3 << 62)
_VERSION_BITS = (0x4 << 76) | (0x2 << 62)


@dataclass(slots=True)
class SimEvent:
    """One message: what the producer sends and what the tests check it against.

    ``kind`` is the intended kind (it picks the topic even when the message is
    deliberately broken); ``key`` is ``subject.id`` exactly as in the message (a
    clear resident id for persons: the system pseudonymises at ingestion);
    ``timestamp`` is ``occurred_at`` in Unix seconds; ``error`` names the DLQ reason
    the message was built to get, ``None`` for a valid event.
    """

    kind: str
    key: bytes
    value: bytes
    timestamp: int
    event_id: str
    ref_event_id: str | None = None
    error: str | None = None

    @property
    def topic_suffix(self) -> str:
        """The contract's topic suffix for ``kind`` (``events.penalty`` ...)."""
        return KIND_TO_TOPIC[self.kind]

    @property
    def occurred_at(self) -> datetime:
        """Event time in UTC+08:00."""
        return datetime.fromtimestamp(self.timestamp, CST)


def new_event_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``, so that a seed fixes every event id."""
    text = (rng.getrandbits(128) & _VERSION_MASK | _VERSION_BITS).to_bytes(16, "big").hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class Wire:
    """Wraps payloads in the envelope every event shares, and returns the message.

    This is the generator's innermost step, so it reads its tables into attributes
    once and formats the event id, both timestamps and the line in one place.

    Parameters
    ----------
    population
        Supplies the subject fragment (type, id, name, sector, district) and the key.
    clock
        Formats ``occurred_at`` and ``reported_at``.
    rng
        Draws event ids and reporting delays.
    """

    def __init__(self, population: Population, clock: Clock, rng: random.Random) -> None:
        self._fragments = population.fragments
        self._ids = population.ids
        self._days = [day.encode() for day in clock.day_prefixes]
        self._times = [time.encode() for time in clock.time_suffixes]
        self._epoch = clock.epoch
        self._random = rng.random
        self._bits = rng.getrandbits

    def event(
        self,
        kind: str,
        subject: int,
        second: int,
        source: str,
        payload: str,
        ref: str | None = None,
    ) -> SimEvent:
        """The message of one record; ``reported_at`` follows after hours or days."""
        # bytes.hex is the cheapest way from 128 random bits to 32 hex digits.
        text = (self._bits(128) & _VERSION_MASK | _VERSION_BITS).to_bytes(16, "big").hex()
        event_id = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
        roll = self._random()
        if roll < 0.6:
            reported = second + _HOUR + int(11 * _HOUR * self._random())
        elif roll < 0.9:
            reported = second + 12 * _HOUR + int(60 * _HOUR * self._random())
        else:
            reported = second + 3 * DAY + int(7 * DAY * self._random())
        days, times = self._days, self._times
        # Bytes formatting: the subject fragment is stored UTF-8 encoded, so the Chinese
        # names are copied, not transcoded, for every event.
        line = _LINE % (
            event_id.encode(),
            kind.encode(),
            self._fragments[subject],
            source.encode(),
            days[second // DAY],
            times[second % DAY],
            days[reported // DAY],
            times[reported % DAY],
            payload.encode(),
        )
        key = self._ids[subject].encode()
        return SimEvent(kind, key, line, self._epoch + second, event_id, ref)
