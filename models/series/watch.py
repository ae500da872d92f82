"""The city-level series watch: daily counts per sector × district × kind, scored online.

Each worker counts the events it applies per series and CST day; the partial counts
are summed per district (:func:`district_counts` gives the payloads, the stream sends
them keyed by district, so every series is summed and watched by exactly one worker
whatever the number of workers). :class:`SeriesWatch` adds them up and scores a day
with the series detector (:class:`~.detector.SeriesDetector`) once the event-time
watermark is ``grace_days`` past it, returning the warnings as plain
:class:`~creditbrain.alerts.lifecycle.AlertUpdate` values: one warning per incident,
opened on its first anomalous day and resolved once the series is calm again
(:func:`~creditbrain.alerts.metric.judge_metric`). Each scored day is also kept in
:attr:`SeriesWatch.scored` (its summed count and score, the rows of the store's
``metric_day_counts`` and ``metric_anomalies``); the stream
(:mod:`creditbrain.streams.models`) turns them into messages. Banks of tracks are
checkpointed with :func:`dump_bank` / :func:`load_bank`.

Nothing here knows about Kafka: counts come in as any object with ``value``,
``partition`` and ``offset``.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple, Protocol

import orjson

from creditbrain.alerts.lifecycle import AlertUpdate
from creditbrain.alerts.metric import CALM_DAYS, MetricIncident, SeriesKey, judge_metric
from creditbrain.alerts.policy import PolicySet
from creditbrain.models import checkpoint

from .detector import SeriesDetector

__all__ = [
    "CountMessage",
    "ScoredDay",
    "SeriesTrack",
    "SeriesWatch",
    "WatchCounters",
    "bank_key",
    "district_counts",
    "dump_bank",
    "load_bank",
    "series_of",
    "watch_detector",
]

log = logging.getLogger(__name__)

_EPOCH = date(1970, 1, 1)
#: Count messages remembered to recognise a re-sent copy (a producer re-sends within
#: seconds; thousands of batches of margin).
_SEEN_LIMIT = 50_000


class CountMessage(Protocol):
    """A message of partial counts as the watch needs it."""

    @property
    def value(self) -> bytes: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


def watch_detector() -> SeriesDetector:
    """The detector of a new series: 400 days of history (a weekly cycle, a small checkpoint).

    The likelihood layer is off here: it has not yet been measured on the city's daily
    counts (docs/series-detector.md), so the city-level warnings keep the behaviour
    they were measured with.
    """
    return SeriesDetector(history=400, incident=0, likelihood=False, novelty=False)


def district_counts(
    counts: Mapping[tuple[str, str, str, int], int], batch: str | None = None
) -> list[tuple[str, bytes]]:
    """One worker's counts of a batch, ``(sector, district, kind, day) -> n``, per district.

    One payload per district (its key), listing ``[sector, kind, day, n]``: a batch
    of a thousand events touches hundreds of series-days but a handful of districts,
    and each message costs the series watch far more than its entries do. Every
    series of a district is therefore summed by the worker that holds the district's
    partition of the counts topic.

    ``batch`` names the batch the counts come from (the worker: the position of its
    first input message); a payload the watch has seen already with the same batch
    and district is a repeat (a producer's re-send) and is not counted again.

    >>> district_counts({("food_drug", "371102", "penalty", 3): 2})
    [('371102', b'{"district":"371102","counts":[["food_drug","penalty",3,2]]}')]
    """
    by_district: dict[str, list[list[str | int]]] = {}
    for (sector, district, kind, day), count in sorted(counts.items()):
        by_district.setdefault(district, []).append([sector, kind, day, count])
    extra = {} if batch is None else {"batch": batch}
    return [
        (district, orjson.dumps({"district": district, "counts": rows, **extra}))
        for district, rows in by_district.items()
    ]


@dataclass
class SeriesTrack:
    """One series being watched: its detector, the counts of its open days, the last scored day.

    ``incident`` is its open warning, if any. Its default is a class attribute, so a
    track from a checkpoint written before the field existed reads as having none.
    """

    detector: SeriesDetector
    open: dict[int, int] = field(default_factory=dict)
    scored_through: int | None = None
    incident: MetricIncident | None = None


class ScoredDay(NamedTuple):
    """One series-day as scored: the day's whole count (all workers' parts) and its score."""

    series: SeriesKey
    day: date
    events: int
    score: float


@dataclass
class WatchCounters:
    """What the watch has done, for the worker's metrics."""

    days_scored: int = 0
    warnings: int = 0
    resolved: int = 0
    late_counts: int = 0
    bad_messages: int = 0
    #: Count messages seen twice (a producer sent them again after a timeout).
    repeats: int = 0


class SeriesWatch:
    """Sums partial daily counts per series and scores each closed day online.

    Parameters
    ----------
    policies
        Returns the warning policies in force (the worker's live set).
    grace_days
        A day is closed (scored) once a count for a day this much later has arrived;
        counts for a closed day are counted as late and left out.
    make_detector
        A fresh detector for a series seen for the first time (:func:`watch_detector`).
    calm_days
        Days in a row below the warning threshold that resolve a series' open warning.

    Series without events on a day are not visited every day: their zero days are
    scored when their next count closes, so a series that falls silent is judged
    when it speaks again.
    """

    def __init__(
        self,
        policies: Callable[[], PolicySet],
        grace_days: int = 1,
        make_detector: Callable[[], SeriesDetector] = watch_detector,
        calm_days: int = CALM_DAYS,
    ) -> None:
        self.policies = policies
        self.grace_days = grace_days
        self.make_detector = make_detector
        self.calm_days = calm_days
        #: Partition of the counts topic -> series key -> track.
        self.banks: dict[int, dict[str, SeriesTrack]] = {}
        self.dirty: set[int] = set()
        self.watermark_day: int | None = None
        self.counters = WatchCounters()
        # (batch, district) of the recent count messages: a re-sent copy is not summed twice.
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: The days scored by the last :meth:`process`, in the order they were scored.
        self.scored: list[ScoredDay] = []

    def bank(self, partition: int, checkpoint: bytes | None = None) -> dict[str, SeriesTrack]:
        """The tracks of ``partition``, restored from ``checkpoint`` the first time it is seen."""
        bank = self.banks.get(partition)
        if bank is None:
            bank = {}
            if checkpoint:
                try:
                    bank = load_bank(checkpoint)
                except Exception:
                    log.exception("series checkpoint of partition %d not used", partition)
            self.banks[partition] = bank
            for track in bank.values():
                if track.scored_through is not None:
                    self._see(track.scored_through + self.grace_days)
        return bank

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the tracks of partitions this worker no longer holds (after a rebalance)."""
        for partition in [p for p in self.banks if p not in partitions]:
            del self.banks[partition]
            self.dirty.discard(partition)

    def process(
        self, batch: Sequence[CountMessage], checkpoints: Mapping[str, bytes] | None = None
    ) -> list[AlertUpdate]:
        """Add a batch of partial counts; return the warnings of the days it closes."""
        checkpoints = checkpoints or {}
        self.scored = []
        for message in batch:
            try:
                doc = orjson.loads(message.value)
                district = str(doc["district"])
                entries = [
                    (SeriesKey(str(sector), district, str(kind)), int(day), int(count))
                    for sector, kind, day, count in doc["counts"]
                ]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                self.counters.bad_messages += 1
                log.warning("series count message at offset %d skipped", message.offset)
                continue
            if self._repeated(doc.get("batch"), district):
                self.counters.repeats += 1
                continue
            partition = message.partition
            bank = self.bank(partition, checkpoints.get(bank_key(partition)))
            for series, day, count in entries:
                self._add(bank, series, day, count)
            self.dirty.add(partition)
        return self._close()

    def _repeated(self, batch: object, district: str) -> bool:
        """Whether this batch's counts of ``district`` were summed already (then: a repeat)."""
        if not isinstance(batch, str):
            return False
        key = (batch, district)
        if key in self._seen:
            return True
        self._seen[key] = None
        if len(self._seen) > _SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    def _add(self, bank: dict[str, SeriesTrack], series: SeriesKey, day: int, count: int) -> None:
        track = bank.get(series.key)
        if track is None:
            track = bank[series.key] = SeriesTrack(self.make_detector())
        if track.scored_through is not None and day <= track.scored_through:
            self.counters.late_counts += count
            return
        track.open[day] = track.open.get(day, 0) + count
        self._see(day)

    def _see(self, day: int) -> None:
        if self.watermark_day is None or day > self.watermark_day:
            self.watermark_day = day

    def _close(self) -> list[AlertUpdate]:
        if self.watermark_day is None:
            return []
        until = self.watermark_day - self.grace_days
        out: list[AlertUpdate] = []
        policies = self.policies()
        for partition, bank in self.banks.items():
            for key, track in bank.items():
                if not track.open or min(track.open) > until:
                    continue
                self.dirty.add(partition)
                for day in sorted(d for d in track.open if d <= until):
                    start = day if track.scored_through is None else track.scored_through + 1
                    for quiet in range(start, day):
                        out += self._score(key, track, quiet, 0, policies)
                    out += self._score(key, track, day, track.open.pop(day), policies)
        return out

    def _score(
        self, key: str, track: SeriesTrack, day: int, count: int, policies: PolicySet
    ) -> list[AlertUpdate]:
        point: dict[Hashable, Any] = {"timestamp": float(day * 86_400), "value": float(count)}
        try:
            score = track.detector.score_one(point)
            track.detector.learn_one(point)
        except Exception:
            log.exception("series detector of %s failed; starting it afresh", key)
            track.detector, score = self.make_detector(), 0.0
        track.scored_through = day
        self.counters.days_scored += 1
        series, when = series_of(key), _EPOCH + timedelta(days=day)
        self.scored.append(ScoredDay(series, when, count, score))
        track.incident, update = judge_metric(
            series, when, count, score, track.incident, policies, calm_days=self.calm_days
        )
        if update is None:
            return []
        if update.change == "resolved":
            self.counters.resolved += 1
        else:
            self.counters.warnings += 1
        return [update]

    def checkpoints(self, everything: bool = False) -> dict[str, bytes]:
        """Checkpoints of the banks changed since the last call (or of all of them)."""
        partitions = set(self.banks) if everything else self.dirty & set(self.banks)
        self.dirty = set()
        return {bank_key(p): dump_bank(self.banks[p]) for p in sorted(partitions)}


def series_of(key: str) -> SeriesKey:
    """The inverse of :attr:`SeriesKey.key`.

    >>> series_of("sector=food_drug|district=371102|kind=penalty")
    SeriesKey(sector='food_drug', district='371102', kind='penalty')
    """
    parts = dict(part.split("=", 1) for part in key.split("|"))
    return SeriesKey(parts["sector"], parts["district"], parts["kind"])


def bank_key(partition: int) -> str:
    """Key of one counts partition's series checkpoint on the models topic."""
    return f"series-{partition}"


def dump_bank(bank: dict[str, SeriesTrack]) -> bytes:
    """The checkpoint of one bank of series (:func:`creditbrain.models.checkpoint.dump_series`)."""
    return checkpoint.dump_series(bank)


def load_bank(data: bytes) -> dict[str, SeriesTrack]:
    """A bank from :func:`dump_bank`; checkpoints come only from our own topic."""
    return checkpoint.load_series(data, SeriesTrack)
