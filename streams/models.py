"""The online models in the stream: the city-level series watch, with messages in and out.

The per-subject early-warning models run inside the engine, and what they remember
of a subject lives in the subject's own record
(:class:`~creditbrain.engine.subject.FeatureStates`). This module wires the other
model, :class:`~creditbrain.models.series.watch.SeriesWatch`, to Kafka: each worker
counts the events it applies (:func:`count_messages`) and sends the partial counts
to the internal topic ``<app id>-metric-counts`` keyed by district, so every series
is summed and watched by exactly one worker whatever the number of workers; a day
is scored by the series detector once the event-time watermark of the watch is
``grace_days`` past it, and its warnings become messages. Checkpoints of both kinds
of model: :mod:`creditbrain.streams.checkpoints`.

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

from creditbrain.models.series.watch import SeriesTrack as SeriesTrack
from creditbrain.models.series.watch import SeriesWatch as _SeriesWatch
from creditbrain.models.series.watch import WatchCounters as WatchCounters
from creditbrain.models.series.watch import bank_key as bank_key
from creditbrain.models.series.watch import district_counts
from creditbrain.models.series.watch import dump_bank as dump_bank
from creditbrain.models.series.watch import load_bank as load_bank
from creditbrain.models.series.watch import series_of as series_of
from creditbrain.streams.messages import Inbound, Outbound, alert_messages

#: Output name of the partial daily counts (mapped to ``<app id>-metric-counts``).
METRIC_COUNTS = "metric.counts"


def count_messages(counts: Mapping[tuple[str, str, str, int], int]) -> list[Outbound]:
    """One worker's counts of a batch as messages to the counts topic, one per district."""
    return [
        Outbound(METRIC_COUNTS, district.encode(), value)
        for district, value in district_counts(counts)
    ]


class SeriesWatch(_SeriesWatch):
    """The series watch (:class:`creditbrain.models.series.watch.SeriesWatch`) with messages out."""

    def process(  # type: ignore[override]
        self, batch: Sequence[Inbound], checkpoints: Mapping[str, bytes] | None = None
    ) -> list[Outbound]:
        """Add a batch of partial counts; return the messages of the warnings it raises."""
        return [m for update in super().process(batch, checkpoints) for m in alert_messages(update)]
