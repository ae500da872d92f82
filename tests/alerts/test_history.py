"""Score peaks against a brute-force reading of the whole score history."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from creditbrain.alerts.history import peak, remember

steps = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 1000)), min_size=1, max_size=40)


def brute_peak(history: list[tuple[int, int]], now: int, since: int) -> int:
    """Highest score in effect at some moment in ``(since, now]``; history = (start, score)."""
    best = history[-1][1]
    for (_, score), (next_start, _) in zip(history, history[1:], strict=False):
        if next_start > since:
            best = max(best, score)
    return best


@given(steps, st.integers(1, 120), st.integers(0, 1000))
def test_peak_is_the_highest_score_in_the_window(
    changes: list[tuple[int, int]], window: int, first: int
) -> None:
    history = [(-(10**9), first)]
    peaks: list[tuple[int, int]] = []
    now = 0
    for gap, score in changes:
        now += gap
        before = history[-1][1]
        remember(peaks, before, score, now, now - window)
        if score != before:
            history.append((now, score))
        assert peak(peaks, score, now - window) == brute_peak(history, now, now - window)
        assert all(p > score for p, _ in peaks)  # only what can still be a peak is kept
        assert [p for p, _ in peaks] == sorted({p for p, _ in peaks}, reverse=True)


def test_a_subject_whose_score_never_fell_keeps_nothing() -> None:
    peaks: list[tuple[int, int]] = []
    for at, score in enumerate((1000, 1000, 1000)):
        remember(peaks, 1000, score, at, at - 30)
    assert peaks == []
