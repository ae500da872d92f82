"""Writing a run to a JSON Lines file, with its ground truth beside it.

The file holds exactly the wire messages, one per line, in the order they were
generated; the ground truth goes to ``OUT.truth.json`` (``city.jsonl`` ->
``city.truth.json``) unless another path is given.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from creditbrain.core.errors import InputFileError
from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.simulator.wire import SimEvent

_WRITE_BATCH = 4_096
_PROGRESS_EVERY = 20_000


@dataclass(frozen=True)
class Progress:
    """How far a run has got, for progress bars."""

    messages: int
    #: ``occurred_at`` of the latest message.
    event_time: datetime
    #: Share of the event-time span generated, 0 to 1.
    fraction: float
    #: Wall-clock seconds since the run started.
    seconds: float


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Summary:
    """What a run produced."""

    messages: int
    valid: int
    erroneous: int
    valid_by_kind: dict[str, int]
    erroneous_by_reason: dict[str, int]
    subjects: int
    deteriorating: int
    recovering: int
    with_red_record: int
    episodes: int
    seconds: float
    #: Messages per topic, when produced to Kafka.
    by_topic: dict[str, int] = field(default_factory=dict)
    path: Path | None = None
    truth_path: Path | None = None

    @property
    def rate(self) -> float:
        """Messages per wall-clock second."""
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def of(cls, truth: dict[str, Any], seconds: float, **extra: Any) -> Summary:
        """The summary of a run from its ground truth."""
        messages, population = truth["messages"], truth["population"]
        return cls(
            messages=messages["total"],
            valid=messages["valid"],
            erroneous=messages["erroneous"],
            valid_by_kind={k: n for k, n in messages["valid_by_kind"].items() if n},
            erroneous_by_reason={k: n for k, n in truth["erroneous_by_reason"].items() if n},
            subjects=population["total"],
            deteriorating=population["deteriorating"],
            recovering=population["recovering"],
            with_red_record=population["with_red_record"],
            episodes=len(truth["episodes"]),
            seconds=seconds,
            **extra,
        )


class ProgressMeter:
    """Turns a stream position into :class:`Progress` for a callback."""

    def __init__(self, simulator: Simulator, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._start = simulator.span_start
        self._span = simulator.span_seconds
        self.began = time.perf_counter()

    def report(self, messages: int, event: SimEvent | None, done: bool = False) -> None:
        """Call the callback (if any) for ``messages`` sent, the latest being ``event``."""
        if self._callback is None or event is None:
            return
        fraction = 1.0 if done else min(1.0, (event.timestamp - self._start) / self._span)
        elapsed = time.perf_counter() - self.began
        self._callback(Progress(messages, event.occurred_at, fraction, elapsed))


def default_truth_path(path: Path) -> Path:
    """``city.jsonl`` -> ``city.truth.json``."""
    return path.with_suffix(".truth.json")


def write_truth(path: Path, truth: dict[str, Any]) -> None:
    """The ground truth as indented UTF-8 JSON (deterministic: same run, same bytes)."""
    try:
        path.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise InputFileError(f"cannot write the ground truth to {path}: {error}") from error


def write_jsonl(
    path: Path | str,
    config: CityConfig | None = None,
    *,
    truth_path: Path | str | None = None,
    pseudonym_key: bytes,
    progress: ProgressCallback | None = None,
) -> Summary:
    """Simulate ``config`` into a JSON Lines file and its ground truth.

    Parameters
    ----------
    path
        The JSON Lines file to write (replaced if it exists).
    config
        What to simulate; the defaults if ``None``.
    truth_path
        Where the ground truth goes; ``path`` with suffix ``.truth.json`` by default.
    pseudonym_key
        Key of the persons' pseudonyms in the ground truth (the deployment's).
    progress
        Called every 20,000 messages and at the end.
    """
    path = Path(path)
    truth_file = Path(truth_path) if truth_path is not None else default_truth_path(path)
    simulator = Simulator(config, pseudonym_key=pseudonym_key)
    meter = ProgressMeter(simulator, progress)
    messages, next_report = 0, _PROGRESS_EVERY
    events = simulator.events()
    last: SimEvent | None = None
    try:
        with path.open("wb", buffering=1 << 20) as out:
            # Whole batches through islice and join: the per-message work stays in C.
            while batch := list(islice(events, _WRITE_BATCH)):
                out.write(b"\n".join([event.value for event in batch]))
                out.write(b"\n")
                messages += len(batch)
                last = batch[-1]
                if messages >= next_report:
                    meter.report(messages, last)
                    next_report += _PROGRESS_EVERY
    except OSError as error:
        raise InputFileError(f"cannot write {path}: {error}") from error
    truth = simulator.ground_truth()
    write_truth(truth_file, truth)
    meter.report(messages, last, done=True)
    seconds = time.perf_counter() - meter.began
    return Summary.of(truth, seconds, path=path, truth_path=truth_file)
