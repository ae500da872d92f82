"""The simulator's face: iterate a run's messages, then ask for its ground truth.

Examples
--------
>>> from creditbrain.simulator.config import CityConfig
>>> simulator = Simulator(CityConfig.scaled(0.002, days=20, seed=1), pseudonym_key=b"k")
>>> events = list(simulator.events())
>>> all(a.timestamp <= b.timestamp for a, b in zip(events, events[1:]))
True
>>> simulator.ground_truth()["messages"]["total"] == len(events)
True
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from heapq import heappop, heappush
from typing import Any

from creditbrain.simulator.calendar import DAY, midnight_unix
from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.engine import Run
from creditbrain.simulator.truth import ground_truth
from creditbrain.simulator.wire import SimEvent


def shuffled(events: Iterable[SimEvent], window: int, rng: random.Random) -> Iterator[SimEvent]:
    """``events`` out of order, each moved later by at most ``window`` messages.

    Every message is given a release position of its arrival index plus a random
    lag up to ``window``; a repair or objection is never released before the
    record it cites (it takes at least the record's release position, and ties
    go to the earlier arrival), so references stay resolvable.
    """
    heap: list[tuple[int, int, SimEvent]] = []
    held: dict[str, int] = {}
    for index, event in enumerate(events):
        release = index + int((window + 1) * rng.random())
        ref = event.ref_event_id
        if ref is not None and ref in held:
            release = max(release, held[ref])
        held[event.event_id] = release
        heappush(heap, (release, index, event))
        while heap[0][0] <= index:
            out = heappop(heap)[2]
            held.pop(out.event_id, None)
            yield out
            if not heap:
                break
    while heap:
        yield heappop(heap)[2]


class Simulator:
    """A city's credit events for one :class:`CityConfig`.

    Parameters
    ----------
    config
        What to simulate; the defaults are a one-year run of about 52,000 subjects.
    pseudonym_key
        The key that turns resident ids into pseudonyms in the ground truth; pass
        the deployment's (``CREDITBRAIN_PSEUDONYM_KEY``) for a truth that matches
        what the system stores.
    """

    def __init__(self, config: CityConfig | None = None, *, pseudonym_key: bytes) -> None:
        self.config = config or CityConfig()
        self._pseudonym_key = pseudonym_key
        self._run: Run | None = None
        self._finished = False

    def events(self) -> Iterator[SimEvent]:
        """Every message of the run: valid events and the deliberately bad ones.

        In event-time order unless ``config.shuffle_window`` is set. Each call
        starts the run afresh and yields the same messages.
        """
        self._finished = False
        run = self._run = Run(self.config)
        stream: Iterator[SimEvent] = run.stream()
        if self.config.shuffle_window:
            order = random.Random(f"{self.config.seed}:shuffle")  # noqa: S311 (simulation)
            stream = shuffled(stream, self.config.shuffle_window, order)
        yield from stream
        self._finished = True

    @property
    def span_seconds(self) -> int:
        """Length of the event-time span."""
        return self.config.days * DAY

    @property
    def span_start(self) -> int:
        """Unix seconds of the span's first instant (local midnight of ``config.start``)."""
        return midnight_unix(self.config.start)

    def ground_truth(self) -> dict[str, Any]:
        """The run's ground truth, once :meth:`events` has been iterated to the end."""
        if self._run is None or not self._finished:
            raise RuntimeError("iterate Simulator.events() to the end before asking for the truth")
        return ground_truth(self._run, self._pseudonym_key)
