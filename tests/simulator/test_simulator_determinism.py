"""Same seed and parameters, same bytes: messages and ground truth."""

from __future__ import annotations

from creditbrain.simulator import CityConfig, write_jsonl
from tests.simulator.conftest import KEY, SMALL, Generated, generate

TINY = CityConfig.scaled(0.01, seed=3, days=120, error_rate=0.05)


def test_same_seed_same_bytes(small_run: Generated) -> None:
    again = generate(SMALL)
    assert again.lines == small_run.lines
    assert again.truth_bytes() == small_run.truth_bytes()


def test_another_seed_another_city() -> None:
    first, second = generate(TINY), generate(TINY.model_copy(update={"seed": 4}))
    assert first.lines != second.lines
    assert {e.key for e in first.events}.isdisjoint({e.key for e in second.events})


def test_files_are_byte_identical(tmp_path) -> None:
    one = write_jsonl(tmp_path / "a.jsonl", TINY, pseudonym_key=KEY)
    two = write_jsonl(tmp_path / "b.jsonl", TINY, pseudonym_key=KEY)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.truth.json").read_bytes() == (tmp_path / "b.truth.json").read_bytes()
    assert one.messages == two.messages == len((tmp_path / "a.jsonl").read_bytes().splitlines())
    assert one.truth_path == tmp_path / "a.truth.json"


def test_valid_stream_does_not_depend_on_the_error_rate() -> None:
    with_errors = generate(TINY)
    without = generate(TINY.model_copy(update={"error_rate": 0.0}))
    assert [e.value for e in with_errors.events if e.error is None] == without.lines
    assert without.truth["messages"]["erroneous"] == 0


def test_events_come_in_event_time_order(small_run: Generated) -> None:
    stamps = [event.timestamp for event in small_run.events]
    assert stamps == sorted(stamps)
    assert small_run.events[0].occurred_at.year == 2025
