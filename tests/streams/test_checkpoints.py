"""The worker's model checkpoints on the embedded broker: kept, restored, exported to a file.

The keeper writes a key again at every checkpoint; a restarted worker and an export
must both find the last value of each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.infra.broker import EmbeddedBroker
from creditbrain.models import checkpoint
from creditbrain.models.subject import EarlyWarning
from creditbrain.streams.checkpoints import (
    EARLY_WARNING_KEY,
    ModelKeeper,
    export_checkpoints,
    load_models_file,
    models_topic,
)
from creditbrain.streams.models import SeriesTrack, SeriesWatch, bank_key, dump_bank, load_bank
from creditbrain.streams.sent import dump_fence, fence_key
from tests.models.test_early_warning import replay, small_model, transitions
from tests.streams.test_models_wiring import SERIES, _inbound, count_message

pytestmark = pytest.mark.integration


def trained(events: int) -> EarlyWarning:
    model = small_model()
    replay(model, transitions(5, events=events), {})
    return model


def watched(partition: int, days: range) -> SeriesWatch:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES)
    for day in days:
        watch.process(_inbound([count_message(SERIES, day, 3 + day % 3)], partition=partition))
    return watch


def opinion(bank: dict[str, SeriesTrack], day: int) -> float:
    """What a bank's detector of :data:`SERIES` says of ``day`` (5 events)."""
    return float(bank[SERIES.key].detector.score_one({"timestamp": day * 86_400.0, "value": 5.0}))


def test_the_series_format_is_the_one_the_series_watch_writes() -> None:
    bank = watched(0, range(100, 130)).banks[0]
    assert dump_bank(bank)[:5] == checkpoint.dump_series(bank)[:5]
    assert opinion(load_bank(checkpoint.dump_series(bank)), 131) == opinion(bank, 131)
    assert opinion(checkpoint.load_series(dump_bank(bank), SeriesTrack), 131) == opinion(bank, 131)


async def _keep_twice(
    bootstrap: str, app_id: str, first: dict[str, bytes], last: dict[str, bytes]
) -> None:
    """A worker that writes ``first`` while it runs and ``last`` when it stops."""
    pending = [first, last]
    keeper = ModelKeeper(
        bootstrap, models_topic(app_id), lambda everything: pending.pop(0), lambda _: None, 3600
    )
    await keeper.start()
    assert await keeper.checkpoint() == len(first)
    await keeper.stop()
    assert keeper.written == len(first) + len(last)


def test_a_restarted_keeper_and_a_checkpoint_file_hold_the_last_checkpoints(
    embedded_broker: EmbeddedBroker, fresh_topic: Callable[[str], str], tmp_path: Path
) -> None:
    bootstrap = embedded_broker.bootstrap
    app_id = fresh_topic("app")
    early, late = trained(600), trained(1500)
    assert early.learned != late.learned
    banks = {0: watched(0, range(100, 140)).banks[0], 1: watched(1, range(200, 260)).banks[1]}
    first = {EARLY_WARNING_KEY: checkpoint.dump(early), bank_key(0): dump_bank(banks[0])}
    last = {
        bank_key(1): dump_bank(banks[1]),
        fence_key(0): dump_fence({"w": {0: 3}}),
        EARLY_WARNING_KEY: checkpoint.dump(late),
    }
    asyncio.run(_keep_twice(bootstrap, app_id, first, last))

    # A restarted worker gets the latest value of every key, fence included.
    loaded: list[dict[str, bytes]] = []

    async def restart() -> None:
        keeper = ModelKeeper(bootstrap, models_topic(app_id), lambda _: {}, loaded.append, 3600)
        await keeper.start()
        await keeper.stop()

    asyncio.run(restart())
    assert loaded == [{**first, **last}]

    path = tmp_path / "worker.checkpoints"
    assert export_checkpoints(bootstrap, app_id, path) == 3  # the fence is no checkpoint
    warm = load_models_file(path)
    assert warm.early_warning is not None
    assert warm.early_warning.learned == late.learned
    assert sorted(warm.series_banks) == [bank_key(0), bank_key(1)]
    for partition, bank in banks.items():
        assert opinion(warm.series_banks[bank_key(partition)], 300) == opinion(bank, 300)
    assert warm.series_tracks.keys() == {SERIES.key}  # one series, in partition 0 and 1 here


def test_exporting_from_a_worker_that_never_ran_says_so(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    with pytest.raises(checkpoint.CheckpointError, match="no checkpoint topic"):
        export_checkpoints(embedded_broker.bootstrap, "never-ran", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_series_checkpoint_written_before_the_watch_moved_still_loads() -> None:
    """A pickle names the module of its classes; the series watch may move in the package."""
    bank = watched(0, range(100, 130)).banks[0]
    moved = type("SeriesTrack", (), {"__module__": "creditbrain.models.series.watch"})
    track = checkpoint.load_series(dump_bank(bank), moved)[SERIES.key]
    assert isinstance(track, moved)
    original = bank[SERIES.key]
    assert (track.open, track.scored_through) == (original.open, original.scored_through)
    assert opinion({SERIES.key: track}, 131) == opinion(bank, 131)  # type: ignore[dict-item]
