"""Pipeline health, for operations: throughput, dead letters, sink delay, counters.

Times here are processing times (``ingested_at``, ``received_at``), not event time:
the question is whether the pipeline keeps up now, whatever the records are about.
Sink delay is ``ingested_at − reported_at``: from the department's report to the
row in ClickHouse (a replay of old history shows its age, not a fault).
"""

# Panel SQL is assembled from constants in this module, never from input; Grafana and
# expand() substitute the variables, so S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import annotations

from creditbrain.dashboards.model import Dashboard, flow
from creditbrain.dashboards.panels import bars, series, stat, table

UID = "cb-pipeline-health"

_DELAY_MS = "dateDiff('millisecond', reported_at, ingested_at)"


def pipeline_health() -> Dashboard:
    """The operations dashboard."""
    panels = [
        stat(
            "Records ingested",
            "SELECT count() AS records FROM dash_events WHERE $__timeFilter(ingested_at)",
            ("records",),
            w=6,
        ),
        stat(
            "Dead letters",
            "SELECT count() AS dead_letters FROM dash_dlq "
            "WHERE resolution = '' AND $__timeFilter(received_at)",
            ("dead_letters",),
            w=6,
        ),
        stat(
            "Sink delay p95",
            f"SELECT quantile(0.95)({_DELAY_MS}) / 1000 AS p95_s FROM dash_events "
            "WHERE $__timeFilter(ingested_at)",
            ("p95_s",),
            w=6,
            unit="s",
        ),
        stat(
            "Webhook deliveries waiting for replay",
            "SELECT countIf(replayed_at IS NULL) AS waiting FROM dash_webhook_dead_letters",
            ("waiting",),
            w=6,
            good_until=1,
        ),
        series(
            "Throughput (records per minute)",
            "SELECT toStartOfMinute(ingested_at) AS time, count() AS records_per_minute "
            "FROM dash_events WHERE $__timeFilter(ingested_at) GROUP BY time ORDER BY time",
            ("time", "records_per_minute"),
        ),
        series(
            "Sink delay",
            f"SELECT $__timeInterval(ingested_at) AS time, "
            f"quantile(0.5)({_DELAY_MS}) / 1000 AS p50_s, "
            f"quantile(0.95)({_DELAY_MS}) / 1000 AS p95_s "
            "FROM dash_events WHERE $__timeFilter(ingested_at) GROUP BY time ORDER BY time",
            ("time", "p50_s", "p95_s"),
            unit="s",
        ),
        bars(
            "Dead letters by reason",
            "SELECT reason, count() AS dead_letters FROM dash_dlq "
            "WHERE resolution = '' AND $__timeFilter(received_at) "
            "GROUP BY reason ORDER BY dead_letters DESC, reason",
            ("reason", "dead_letters"),
            w=12,
        ),
        series(
            "Dead letters over time",
            "SELECT $__timeInterval(received_at) AS time, reason, count() AS dead_letters "
            "FROM dash_dlq WHERE resolution = '' AND $__timeFilter(received_at) "
            "GROUP BY time, reason ORDER BY time, reason",
            ("time", "reason", "dead_letters"),
        ),
        series(
            "Pipeline metrics",
            "SELECT $__timeInterval(ts) AS time, name, avg(value) AS value "
            "FROM dash_pipeline_metrics WHERE $__timeFilter(ts) GROUP BY time, name "
            "ORDER BY time, name",
            ("time", "name", "value"),
            w=24,
        ),
        table(
            "Failed webhook deliveries",
            "SELECT subscription_id, count() AS failed, countIf(replayed_at IS NULL) AS waiting, "
            "max(failed_at) AS last_failure, argMax(last_error, failed_at) AS last_error "
            "FROM dash_webhook_dead_letters GROUP BY subscription_id "
            "ORDER BY waiting DESC, subscription_id",
            ("subscription_id", "failed", "waiting", "last_failure", "last_error"),
            w=24,
            h=6,
        ),
    ]
    return Dashboard(
        uid=UID,
        title="Credit brain · pipeline health",
        folder="cb-operations",
        description="Throughput, dead letters, sink delay and the pipeline's own metrics.",
        time_from="now-6h",
        event_time=False,
        refresh="30s",
        panels=flow(panels),
    )
