"""Event time of the engine: the watermark and the moments at which scores change by themselves.

A subject's score can change without a new event: a publicity period ends, or an
already applied record dated later starts to count. The scorecard says when
(``ScoreResult.next_change_at``); :class:`ExpiryClock` remembers those moments in a
heap and, once the watermark (the latest ``occurred_at`` accepted) passes one,
hands the subject back to be re-scored as of that moment. So a replay of the same
events gives the same score history however they were batched.

Examples
--------
>>> clock = ExpiryClock()
>>> clock.schedule(500, "a"); clock.schedule(300, "b"); clock.schedule(900, "c")
>>> clock.see(600)
>>> list(clock.due())
[(300, 'b'), (500, 'a')]
>>> clock.watermark_ms
600
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

__all__ = ["ExpiryClock"]


class ExpiryClock:
    """The watermark and a heap of ``(moment, subject id)`` of pending score changes.

    Entries are never removed when a subject is re-scored earlier; the caller checks
    that a due entry is still the subject's next change (a stale entry is skipped).
    """

    def __init__(self) -> None:
        self.watermark_ms = 0
        self._heap: list[tuple[int, str]] = []

    def see(self, event_ms: int) -> None:
        """An event of this time was accepted: the watermark never goes back."""
        if event_ms > self.watermark_ms:
            self.watermark_ms = event_ms

    def schedule(self, at_ms: int, subject_id: str) -> None:
        """Re-score ``subject_id`` once the watermark reaches ``at_ms``."""
        heapq.heappush(self._heap, (at_ms, subject_id))

    def due(self) -> Iterator[tuple[int, str]]:
        """Take out the entries the watermark has reached, earliest first."""
        heap = self._heap
        while heap and heap[0][0] <= self.watermark_ms:
            yield heapq.heappop(heap)

    def rebuild(self, pending: Iterable[tuple[str, int, int | None]]) -> None:
        """Start again from ``(subject id, as of, next change)`` of every state held."""
        self._heap = []
        for subject_id, as_of_ms, next_change_ms in pending:
            self.see(as_of_ms)
            if next_change_ms is not None:
                self._heap.append((next_change_ms, subject_id))
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._heap)
