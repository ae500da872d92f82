"""Out-of-order delivery within a window, references still resolvable."""

from __future__ import annotations

from tests.simulator.conftest import Generated, generate

WINDOW = 40


def test_shuffle_permutes_within_the_window(small_run: Generated) -> None:
    shuffled = generate(small_run.config.model_copy(update={"shuffle_window": WINDOW}))
    position = {event.value: i for i, event in enumerate(small_run.events)}
    assert sorted(shuffled.lines) == sorted(small_run.lines)
    # The same run delivered differently: only the recorded config differs.
    assert {**shuffled.truth, "config": None} == {**small_run.truth, "config": None}
    moved = [abs(position[event.value] - i) for i, event in enumerate(shuffled.events)]
    assert max(moved) <= WINDOW and sum(moved) > len(moved)
    stamps = [event.timestamp for event in shuffled.events]
    assert any(a > b for a, b in zip(stamps, stamps[1:], strict=False))
    emitted: set[str] = set()
    known = {event.event_id for event in small_run.events}
    for event in shuffled.events:
        if event.ref_event_id in known:
            assert event.ref_event_id in emitted
        emitted.add(event.event_id)
