"""What ``serve`` adds beside the worker: the HTTP API and the webhook dispatcher.

The API answers with the worker's live policies and counters, so it shares the
worker's process (and, embedded, its one chDB store) instead of asking it over
the network.
"""

from __future__ import annotations

from mode import Service

from creditbrain.settings import Settings
from creditbrain.streams.app import Stream
from creditbrain.streams.sink import ClickHouseSink


def api_services(
    settings: Settings, bootstrap: str, stream: Stream, sink: ClickHouseSink
) -> list[Service]:
    """The HTTP API (answering with the worker's live policies) and the webhook dispatcher."""
    from dataclasses import asdict

    from creditbrain.api.metrics import watch_dispatcher
    from creditbrain.api.server import build_api_service, build_webhook_dispatcher

    processor = stream.processor

    def stats() -> dict[str, float]:
        counters = {f"stream_{k}_total": float(v) for k, v in asdict(processor.counters).items()}
        rows = {f"sink_rows_{t}_total": float(n) for t, n in sink.stats.rows.items()}
        return {**counters, **rows, "sink_failures_total": float(sink.stats.failures)}

    def sink_delay() -> float | None:
        import time

        last = sink.stats.last_flush_at
        return None if not last else time.time() - last

    api = build_api_service(
        settings,
        bootstrap,
        policies=lambda _store: processor.policies,
        stats=stats,
        sink_lag=sink_delay,
    )
    dispatcher = build_webhook_dispatcher(settings, bootstrap)
    watch_dispatcher(api.app, dispatcher)
    return [api, dispatcher]
