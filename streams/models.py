"""The online models in the stream: the city-level series watch, with messages in and out.

The per-subject early-warning models run inside the engine, and what they remember
of a subject lives in the subject's own record
(:class:`~creditbrain.engine.subject.FeatureStates`). This module wires the other
model, :class:`~creditbrain.models.series.watch.SeriesWatch`, to Kafka: each worker
counts the events it applies (:func:`count_messages`) and sends the partial counts
to the internal topic ``<app id>-metric-counts`` keyed by district, so every series
is summed and watched by exactly one worker whatever the number of workers; a day
is scored by the series detector once the event-time watermark of the watch is
``grace_days`` past it, and its warnings become messages, as does each scored day
(:func:`day_message`, on ``<prefix>.metric.days`` for the store's ``metric_day_counts``
and ``metric_anomalies``). A day's count is sent whole, once, when the day is
scored: partial counts stored per batch would be counted again on a redelivery.
Checkpoints of both kinds of model: :mod:`creditbrain.streams.checkpoints`.

What is exact and what is not: scores are a function of each subject's events only,
and rule warnings of those events in the order the worker saw them; both are
reproduced exactly by any number of workers and restarts for the same per-subject
order (docs/stream.md). The online models learn from the order in which one worker
sees its partitions and resume from a checkpoint taken up to ``interval`` seconds
before a crash, so their opinions (``anomalous_deterioration``,
``predicted_serious_default``, ``metric_anomaly``) are close, not identical, across
topologies and crashes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from creditbrain.models.series.watch import ScoredDay as ScoredDay
from creditbrain.models.series.watch import SeriesTrack as SeriesTrack
from creditbrain.models.series.watch import SeriesWatch as _SeriesWatch
from creditbrain.models.series.watch import WatchCounters as WatchCounters
from creditbrain.models.series.watch import bank_key as bank_key
from creditbrain.models.series.watch import district_counts
from creditbrain.models.series.watch import dump_bank as dump_bank
from creditbrain.models.series.watch import load_bank as load_bank
from creditbrain.models.series.watch import series_of as series_of
from creditbrain.streams.messages import METRIC_DAYS, Inbound, Outbound, alert_messages

#: Output name of the partial daily counts (mapped to ``<app id>-metric-counts``).
METRIC_COUNTS = "metric.counts"


def count_messages(
    counts: Mapping[tuple[str, str, str, int], int], batch: str | None = None
) -> list[Outbound]:
    """One worker's counts of a batch as messages to the counts topic, one per district.

    ``batch`` names the batch (its first input position), so that a copy the producer
    sends again after a timeout is recognised by the watch and not counted twice.
    """
    return [
        Outbound(METRIC_COUNTS, district.encode(), value)
        for district, value in district_counts(counts, batch)
    ]


def day_message(scored: ScoredDay) -> Outbound:
    """A scored series-day as a message to the store, keyed by its series.

    >>> from datetime import date
    >>> from creditbrain.alerts.metric import SeriesKey
    >>> day = ScoredDay(SeriesKey("food_drug", "371102", "penalty"), date(2026, 3, 4), 41, 0.5)
    >>> day_message(day).value
    b'{"sector":"food_drug","district":"371102","kind":"penalty","day":"2026-03-04","events":41,"anomaly_score":0.5}'
    """
    series = scored.series
    value = orjson.dumps(
        {
            "sector": series.sector,
            "district": series.district,
            "kind": series.kind,
            "day": scored.day.isoformat(),
            "events": scored.events,
            "anomaly_score": scored.score,
        }
    )
    return Outbound(METRIC_DAYS, series.key.encode(), value)


class SeriesWatch(_SeriesWatch):
    """The series watch (:class:`creditbrain.models.series.watch.SeriesWatch`) with messages out."""

    def process(  # type: ignore[override]
        self, batch: Sequence[Inbound], checkpoints: Mapping[str, bytes] | None = None
    ) -> list[Outbound]:
        """Add a batch of partial counts; return the messages of its warnings and scored days."""
        updates = super().process(batch, checkpoints)
        messages = [m for update in updates for m in alert_messages(update)]
        return messages + [day_message(scored) for scored in self.scored]
