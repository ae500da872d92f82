"""Cost of the subject early-warning models per event: ``python -m benchmarks.models``.

A city of another seed, simulated over the year before, warms the models once (as
a restored checkpoint would: both learners give opinions and learn every matured
example, their steady state). A simulated city is made once; each run restores
the warm checkpoint and replays the city through the worker's engine (untimed) and
:meth:`EarlyWarning.observe` (timed, one ``perf_counter`` pair per call). The
figure is the median over the runs of the mean µs per ``observe``. As wall-clock
time counts the moments other processes hold the CPU, each run is also measured in
CPU time: the process time of the replay less that of the same replay without the
models, per event. One more run splits ``observe``'s time into its parts: the
features, the feature state read from and written back to the subject's memo, and
per learner the watermark advance (where matured examples are learned), the
prediction and the queueing of the example; the timer calls add a little to every
part, so the split is given as shares.

As in the worker, each subject's feature state is kept in its record
(``features``) through :class:`creditbrain.engine.subject.FeatureStates`
(as the object; it becomes JSON text only with the subject's changelog record, and
is parsed once when a subject's state is read back from it). Those two conversions
are measured apart, in CPU µs per :meth:`FeatureState.to_json` (with the decode to
text the state's JSON needs) and per :meth:`FeatureState.from_json`, over the
feature states the replay leaves (median of five passes). The load average is
printed beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from creditbrain.engine import Engine
from creditbrain.engine.engine import TimedModels
from creditbrain.engine.subject import FeatureStates, SubjectRecord
from creditbrain.models import checkpoint
from creditbrain.models.features import FeatureState, sparse_features
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator

KEY = b"benchmark-pseudonym-key"


def events(scale: float, seed: int, start: date | None = None) -> list[bytes]:
    """The wire messages of a simulated city without bad lines, in event-time order."""
    config = CityConfig.scaled(scale, seed=seed, error_rate=0.0)
    if start is not None:
        config = CityConfig.scaled(scale, seed=seed, error_rate=0.0, start=start)
    return [message.value for message in Simulator(config, pseudonym_key=KEY).events()]


def replay(
    city: list[bytes], model: EarlyWarning | None, memo: type[FeatureStates] = FeatureStates
) -> tuple[int, float]:
    """Replay ``city`` through the worker's engine and ``model``: (observe calls, seconds in them).

    The model's feature states are kept in the subjects' records (``memo`` over the
    replay's subjects), as the worker keeps them.
    """
    subjects: dict[str, SubjectRecord] = {}
    timed = None
    if model is not None:
        model.feature_states = memo(subjects)
        timed = TimedModels(model)
    engine = Engine(subjects, ParseContext(KEY), DEFAULT_SCORECARD, model=timed)
    for raw in city:
        engine.apply(raw)
    return (timed.calls, timed.seconds) if timed is not None else (0, 0.0)


def _timing(parts: dict[str, float], name: str) -> Callable[[Any], Any]:
    """:func:`_timed` as a decorator."""
    return lambda function: _timed(parts, name, function)


def _timed(parts: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    clock = time.perf_counter

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return function(*args, **kwargs)
        finally:
            parts[name] = parts.get(name, 0.0) + clock() - started

    return timed


def split(city: list[bytes], warm: bytes) -> dict[str, float]:
    """Share of ``observe``'s time per part, from one instrumented run."""
    from creditbrain.models.subject import early_warning

    parts: dict[str, float] = {}

    class TimedMemo(FeatureStates):
        @_timing(parts, "memo")
        def __getitem__(self, subject_id: str) -> FeatureState:
            return super().__getitem__(subject_id)

        @_timing(parts, "memo")
        def __setitem__(self, subject_id: str, value: FeatureState) -> None:
            super().__setitem__(subject_id, value)

    model = checkpoint.load(warm)
    for name, learner in model.learners.items():
        for method in ("advance", "predict_proba_one", "push"):
            setattr(learner, method, _timed(parts, f"{name}.{method}", getattr(learner, method)))
    original = early_warning.sparse_features
    early_warning.sparse_features = _timed(parts, "features", sparse_features)  # type: ignore[assignment]
    try:
        _, spent = replay(city, model, TimedMemo)
    finally:
        early_warning.sparse_features = original  # type: ignore[assignment]
    parts["rest"] = spent - sum(parts.values())
    return {name: round(seconds / spent, 3) for name, seconds in parts.items()}


def memo_json(feature_states: list[FeatureState], passes: int = 5) -> dict[str, float]:
    """CPU µs per feature state written as JSON text and read back (median of ``passes``)."""
    cpu = time.process_time
    write, read = [], []
    for _ in range(passes):
        started = cpu()
        texts = [state.to_json().decode() for state in feature_states]
        write.append(cpu() - started)
        started = cpu()
        for text in texts:
            FeatureState.from_json(text)
        read.append(cpu() - started)
    count = len(feature_states)
    return {
        "states": count,
        "to_json_us": round(1e6 * statistics.median(write) / count, 2),
        "from_json_us": round(1e6 * statistics.median(read) / count, 2),
    }


def models(scale: float = 0.2, seed: int = 3, runs: int = 5) -> dict[str, Any]:
    """µs per ``observe`` (median of ``runs`` cold replays) and the share of each part."""
    city = events(scale, seed)
    first = min(event.occurred_at for event in city).date()
    model = EarlyWarning()
    replay(events(scale, seed + 1, first - timedelta(days=365)), model)
    warm = checkpoint.dump(model)
    cpu = time.process_time
    load_before = os.getloadavg()
    per_event, cpu_per_event = [], []
    calls = 0
    for _ in range(runs):
        started = cpu()
        replay(city, None)
        baseline = cpu() - started
        started = cpu()
        calls, spent = replay(city, model := checkpoint.load(warm))
        cpu_per_event.append(1e6 * (cpu() - started - baseline) / calls)
        per_event.append(1e6 * spent / calls)
    memo = memo_json(list(model.feature_states.values()))
    return {
        "scale": scale,
        "seed": seed,
        "warm_seed": seed + 1,
        "events": calls,
        "runs": runs,
        "us_per_event_median": round(statistics.median(per_event), 1),
        "us_per_event_runs": [round(value, 1) for value in per_event],
        "cpu_us_per_event_median": round(statistics.median(cpu_per_event), 1),
        "cpu_us_per_event_runs": [round(value, 1) for value in cpu_per_event],
        "share": split(city, warm),
        "memo_json": memo,
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.models")
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(models(args.scale, args.seed, args.runs), indent=2))


if __name__ == "__main__":
    main()
