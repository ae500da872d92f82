"""One changelog record holds the whole subject: its applied events and its open warnings.

A worker restores its subjects from their changelog records alone. If the warnings
lived in a second record, a crash between the two writes would leave events that
count as applied (their redelivery is a duplicate) and the warnings they opened
forgotten: the next event would open a second warning for the same rule, and an
escalation would never come. Here the restore is exactly what recovery does: every
subject read back from its changelog form (:meth:`HeldSubject.to_json`), nothing else.
"""

from __future__ import annotations

import orjson

from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.streams.messages import ALERTS_LOG, Inbound
from creditbrain.streams.processor import BatchResult, Processor
from creditbrain.streams.subjects import HeldSubject

KEY = b"test-pseudonym-key"


def _processor(states: dict[str, HeldSubject]) -> Processor:
    return Processor(states, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)


def _changes(result: BatchResult) -> list[tuple[str, str, int]]:
    """Each alert change of a batch: (alert id, change, version)."""
    docs = [orjson.loads(m.value) for m in result.outbound if m.topic == ALERTS_LOG]
    return [(d["doc"]["id"], d["change"], d["version"]) for d in docs]


def test_a_subject_restored_from_its_record_keeps_the_warnings_its_events_opened() -> None:
    sim = Simulator(CityConfig.scaled(0.05, seed=11), pseudonym_key=KEY)
    messages = [Inbound("in", 0, i, None, e.value) for i, e in enumerate(sim.events())]
    half = len(messages) // 2
    first, second = messages[:half], messages[half:]

    reference = _processor({})
    reference.process(first)
    expected = _changes(reference.process(second))

    states: dict[str, HeldSubject] = {}
    interrupted = _processor(states)
    written = interrupted.process(first)
    holding = {key for key, state in states.items() if state.alerts}
    assert holding, "the first half opened no warning: the test proves nothing"
    # Every subject holding warnings is among the batch's changelog records.
    assert holding <= set(written.dirty)
    # The restart: each subject read back from its changelog form alone.
    restored = {key: HeldSubject.from_json(state.to_json()) for key, state in states.items()}
    assert {key for key, state in restored.items() if state.alerts} == holding
    resumed = _processor(restored)
    resumed.restore()

    # The first half again (redelivered: all duplicates) changes no warning ...
    again = resumed.process(first)
    assert _changes(again) == []
    assert resumed.counters.duplicates == interrupted.counters.applied
    # ... and the second half changes the same warnings, in the same way, as without the
    # restart: the same escalations and resolutions of the alerts opened before it.
    after = _changes(resumed.process(second))
    assert after == expected
    assert any(change != "opened" for _, change, _ in expected), "no escalation to compare"
