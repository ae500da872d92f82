"""The little score history ``score_drop`` needs: the highest score of the recent past.

"Score fell by 100 within 30 days" compares the score now with the highest score
in effect at any moment of the last 30 days, including the score that was in
effect when the window began. A subject's score is a step function; each step
that has ended is a pair ``(score, ended_ms)``. Only the steps that can still be
that maximum are kept (*peaks*): a step is forgotten once a later step scored at
least as high (the later one stays in every window the earlier would be in), once
it ended before the window, and once the current score reaches it. So scores in
the list fall and end times rise, every kept score is above the current one, and a
subject whose score never fell keeps nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence

Peaks = list[tuple[int, int]]


def remember(peaks: Peaks, before: int, after: int, at_ms: int, since_ms: int) -> Peaks:
    """The peaks after the score went from ``before`` to ``after`` at ``at_ms``.

    Steps that ended at or before ``since_ms`` are dropped (keep the longest window
    that will be asked about). ``peaks`` is changed in place and returned.

    >>> p = remember([], 1000, 880, at_ms=10, since_ms=-20)
    >>> p
    [(1000, 10)]
    >>> remember(p, 880, 700, at_ms=20, since_ms=-10)
    [(1000, 10), (880, 20)]
    >>> remember(p, 700, 700, at_ms=45, since_ms=15)  # the 1000 ended before the window
    [(880, 20)]
    >>> remember(p, 700, 950, at_ms=46, since_ms=16)  # recovered above every peak
    []
    """
    if after != before:
        while peaks and peaks[-1][0] <= before:
            peaks.pop()
        peaks.append((before, at_ms))
    while peaks and peaks[-1][0] <= after:
        peaks.pop()
    drop = 0
    while drop < len(peaks) and peaks[drop][1] <= since_ms:
        drop += 1
    if drop:
        del peaks[:drop]
    return peaks


def peak(peaks: Sequence[tuple[int, int]], current: int, since_ms: int) -> int:
    """The highest score in effect after ``since_ms`` (exclusive), the current one included.

    >>> peak([(1000, 10), (880, 20)], 700, since_ms=5), peak([(1000, 10), (880, 20)], 700, 10)
    (1000, 880)
    >>> peak([], 700, 0)
    700
    """
    for score, ended in peaks:
        if ended > since_ms:
            return score
    return current
