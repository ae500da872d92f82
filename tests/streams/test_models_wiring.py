"""The online models as the stream uses them, without a broker: counts, series watch, memo."""

from __future__ import annotations

import random
from datetime import date, timedelta

import orjson
import pytest

from creditbrain.alerts.metric import SeriesKey
from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.core.eventtime import day_of
from creditbrain.engine.subject import FeatureStates
from creditbrain.models.features import FeatureState
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.contract import WARNINGS
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.state import EntityState
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.streams.messages import METRIC_DAYS, Inbound, Outbound
from creditbrain.streams.models import (
    METRIC_COUNTS,
    SeriesWatch,
    bank_key,
    count_messages,
)
from creditbrain.streams.processor import Processor
from creditbrain.streams.subjects import HeldSubject

KEY = b"test-pseudonym-key"
SERIES = SeriesKey("food_drug", "371102", "penalty")


def count_message(series: SeriesKey, day: int, count: int) -> Outbound:
    """The message of a single count (:func:`count_messages` of one entry)."""
    (message,) = count_messages({(series.sector, series.district, series.kind, day): count})
    return message


def _inbound(messages: list[Outbound], partition: int = 0) -> list[Inbound]:
    return [Inbound("counts", partition, i, m.key, m.value) for i, m in enumerate(messages)]


def _city(seed: int) -> list[bytes]:
    sim = Simulator(CityConfig.scaled(0.02, seed=seed), pseudonym_key=KEY)
    return [e.value for e in sim.events()]


def test_every_applied_event_is_counted_once_in_its_series_and_day() -> None:
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD, count_series=True)
    values = _city(3)
    counted = 0
    for start in range(0, len(values), 500):
        batch = [Inbound("in", 0, i, None, v) for i, v in enumerate(values[start : start + 500])]
        out = processor.process(batch)
        docs = [orjson.loads(m.value) for m in out.outbound if m.topic == METRIC_COUNTS]
        # One message per district per batch, one entry per series and day in it:
        # partial sums, not one per event.
        assert len({d["district"] for d in docs}) == len(docs)
        entries = [(d["district"], *entry) for d in docs for entry in d["counts"]]
        assert len({tuple(e[:4]) for e in entries}) == len(entries)
        counted += sum(e[4] for e in entries)
    assert processor.counters.applied > 0
    assert counted == processor.counters.applied


def test_the_processor_without_series_counting_sends_no_counts() -> None:
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)
    batch = [Inbound("in", 0, i, None, v) for i, v in enumerate(_city(4)[:300])]
    assert not [m for m in processor.process(batch).outbound if m.topic == METRIC_COUNTS]


def test_the_processor_asks_the_models_and_keeps_their_memo_in_the_subject_state() -> None:
    states: dict[str, HeldSubject] = {}
    model = EarlyWarning(FeatureStates(states))
    processor = Processor(states, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD, model=model)
    batch = [Inbound("in", 0, i, None, v) for i, v in enumerate(_city(5))]
    processor.process(batch)
    remembered = [s for s in states.values() if s.features]
    assert remembered, "no subject record holds the models' memo"
    # The memo survives the record's changelog form.
    again = HeldSubject.from_json(remembered[0].to_json())
    subject_id = again.state.subject_id
    assert isinstance(again.features, str)
    assert FeatureState.from_json(again.features) == FeatureStates(states)[subject_id]
    # Read back from text, it is parsed once and then used as the object.
    restored = FeatureStates({subject_id: again})
    assert restored[subject_id] is restored[subject_id]


def test_a_failing_model_is_replaced_and_scoring_goes_on() -> None:
    class Broken(EarlyWarning):
        def observe(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            raise RuntimeError("a checkpoint from another version")

    states: dict[str, HeldSubject] = {}
    processor = Processor(
        states,
        ParseContext(pseudonym_key=KEY),
        DEFAULT_SCORECARD,
        model=Broken(FeatureStates(states)),
    )
    reference = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD)
    batch = [Inbound("in", 0, i, None, v) for i, v in enumerate(_city(6)[:400])]
    processor.process(batch)
    reference.process(batch)
    assert processor.counters.model_errors == 1
    assert type(processor.model) is EarlyWarning
    assert processor.counters.applied == reference.counters.applied
    assert processor.counters.score_changes == reference.counters.score_changes


def test_feature_states_is_a_mapping_over_the_subject_states() -> None:
    states = {"a": HeldSubject.from_json(HeldSubject(EntityState("a", _enterprise())).to_json())}
    features = FeatureStates(states)
    assert "a" not in features and len(features) == 0
    features["a"] = FeatureState().after(0, 900)
    assert list(features) == ["a"] and features["a"].history == ((0, 900),)
    del features["a"]
    with pytest.raises(KeyError):
        features["a"]


def _enterprise():  # type: ignore[no-untyped-def]
    from creditbrain.schemas.events import SubjectType

    return SubjectType.ENTERPRISE


def _daily(days: range, rate: float, seed: int) -> dict[int, int]:
    rng = random.Random(seed)
    # Poisson-ish counts with a weekly rhythm, like a department's working week.
    return {d: sum(rng.random() < rate / 20 for _ in range(20 if d % 7 < 5 else 6)) for d in days}


def test_partial_counts_from_several_workers_are_summed_and_a_spike_is_warned_once() -> None:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES)
    start = day_of(1_700_000_000_000)
    counts = _daily(range(start, start + 120), 6.0, seed=1)
    spike = start + 100
    counts[spike] = 40
    warnings: list[Outbound] = []
    for day in sorted(counts):
        # Two workers each saw part of the day's events.
        half = counts[day] // 2
        parts = [count_message(SERIES, day, half), count_message(SERIES, day, counts[day] - half)]
        warnings += [m for m in watch.process(_inbound(parts)) if m.topic == WARNINGS]
    # Close the last days too.
    warnings += [
        m
        for m in watch.process(_inbound([count_message(SERIES, start + 125, 1)]))
        if m.topic == WARNINGS
    ]
    days = [orjson.loads(m.value)["data"]["metric"] for m in warnings]
    spikes = [d for d in days if d["value"] == 40.0]
    assert len(spikes) == 1 and spikes[0]["kind"] == "penalty"
    assert len(days) <= 3, days  # a quiet, regular series: (almost) nothing else
    # Days start .. start + 119 are closed by the count of start + 125 (no count after 119).
    assert watch.counters.days_scored == 120


def test_quiet_days_are_scored_as_zeros_and_late_counts_are_left_out() -> None:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES, grace_days=1)
    watch.process(_inbound([count_message(SERIES, 10, 3)]))
    watch.process(_inbound([count_message(SERIES, 20, 2)]))  # closes day 10
    assert watch.counters.days_scored == 1
    watch.process(_inbound([count_message(SERIES, 22, 1)]))  # days 11..19 zero, then day 20
    assert watch.counters.days_scored == 11
    watch.process(_inbound([count_message(SERIES, 15, 5)]))  # day 15 is closed already
    assert watch.counters.late_counts == 5
    watch.process(_inbound([Outbound(METRIC_COUNTS, b"x", b"not json")]))
    assert watch.counters.bad_messages == 1


def test_a_series_checkpoint_restores_the_tracks_of_its_partition() -> None:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES)
    for day in range(100, 160):
        watch.process(_inbound([count_message(SERIES, day, 3 + day % 2)], partition=2))
    blobs = watch.checkpoints()
    assert list(blobs) == [bank_key(2)]
    assert watch.checkpoints() == {}  # nothing changed since

    restored = SeriesWatch(lambda: DEFAULT_POLICIES)
    track = restored.bank(2, blobs[bank_key(2)])[SERIES.key]
    original = watch.banks[2][SERIES.key]
    assert (
        (track.scored_through, track.open)
        == (original.scored_through, original.open)
        == (
            158,
            {159: 4},
        )
    )
    # The detector resumes where it was: the same opinion of the next day.
    point = {"timestamp": 159 * 86_400.0, "value": 4.0}
    assert track.detector.score_one(point) == original.detector.score_one(point)
    assert restored.watermark_day == 159

    fresh = SeriesWatch(lambda: DEFAULT_POLICIES)
    fresh.process(_inbound([count_message(SERIES, 160, 3)], partition=2))
    assert fresh.banks[2][SERIES.key].scored_through is None


def test_a_worker_forgets_the_series_of_partitions_it_gave_away() -> None:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES)
    for partition in (0, 1, 2):
        watch.process(_inbound([count_message(SERIES, 5, 1)], partition=partition))
    watch.keep_only({1})
    assert set(watch.banks) == {1}


def test_a_surge_is_one_warning_that_resolves_and_every_scored_day_goes_to_the_store() -> None:
    watch = SeriesWatch(lambda: DEFAULT_POLICIES)
    start = day_of(1_700_000_000_000)
    counts = _daily(range(start, start + 130), 6.0, seed=3)
    surge = range(start + 100, start + 104)
    for day in surge:
        counts[day] = 45
    out: list[Outbound] = []
    for day in sorted(counts):
        out += watch.process(_inbound([count_message(SERIES, day, counts[day])]))
    warned = [orjson.loads(m.value) for m in out if m.topic == WARNINGS]
    surge_ids = {w["alertid"] for w in warned if w["data"]["metric"]["day"] >= str(_day(surge[0]))}
    assert len(surge_ids) == 1
    (alert_id,) = surge_ids
    changes = [w["type"].rsplit(".", 1)[1] for w in warned if w["alertid"] == alert_id]
    assert changes == ["opened", "resolved"]
    resolved = next(
        w for w in warned if w["alertid"] == alert_id and w["data"]["status"] == "resolved"
    )
    assert resolved["data"]["first_event_at"].startswith(str(_day(surge[0])))
    assert resolved["data"]["metric"]["day"] > str(_day(surge[-1]))
    assert watch.counters.resolved >= 1
    # Every closed day once, with the day's whole count.
    days = [orjson.loads(m.value) for m in out if m.topic == METRIC_DAYS]
    assert [d["day"] for d in days] == [str(_day(d)) for d in range(start, start + 129)]
    assert all(d["events"] == counts[start + i] for i, d in enumerate(days))
    assert {d["anomaly_score"] >= 0.95 for d in days if d["day"] == str(_day(surge[0]))} == {True}


def _day(day: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day)


def test_a_count_message_sent_again_is_summed_once() -> None:
    # The producer re-sends a batch's records when the broker timed the request out, and
    # the first copy may have been written all the same: the batch id tells them apart.
    watch = SeriesWatch(lambda: DEFAULT_POLICIES, grace_days=1)
    key = (SERIES.sector, SERIES.district, SERIES.kind, 10)
    (first,) = count_messages({key: 3}, batch="in:0:100")
    (other,) = count_messages({key: 4}, batch="in:0:200")
    watch.process(_inbound([first, first, other]))
    assert watch.counters.repeats == 1
    track = next(iter(watch.banks[0].values()))
    assert track.open == {10: 7}


def test_the_processor_names_the_batch_of_its_counts() -> None:
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD, count_series=True)
    batch = [Inbound("in", 2, 40 + i, None, v) for i, v in enumerate(_city(7)[:200])]
    docs = [
        orjson.loads(m.value) for m in processor.process(batch).outbound if m.topic == METRIC_COUNTS
    ]
    assert docs and {doc["batch"] for doc in docs} == {"in:2:40"}
