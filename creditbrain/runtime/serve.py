"""What ``serve`` adds beside the worker: the HTTP API and the webhook dispatcher.

The API answers with the worker's live policies and counters, so it shares the
worker's process (and, embedded, its one chDB store) instead of asking it over
the network.
"""

from __future__ import annotations

import sys

from mode import Service

from creditbrain.settings import Settings
from creditbrain.streams.app import Stream
from creditbrain.streams.sink import ClickHouseSink


def with_demo_keys(settings: Settings) -> Settings:
    """``settings`` with the public demo keys on, when ``serve`` may switch them on.

    That is the embedded store (no ClickHouse server configured), no key configured
    and ``CREDITBRAIN_API__DEMO_KEYS`` not set either way: a machine trying the
    system out. Anything else is left as configured, so a deployment without keys
    refuses to start instead of accepting keys whose clear text is public.

    >>> with_demo_keys(Settings()).api.demo_keys
    True
    >>> with_demo_keys(Settings(api={"demo_keys": False})).api.demo_keys
    False
    >>> with_demo_keys(Settings(clickhouse={"dsn": "http://ch:8123/db"})).api.demo_keys is None
    True
    """
    api = settings.api
    if api.keys or api.demo_keys is not None or not settings.clickhouse_dsn.startswith("chdb:"):
        return settings
    return settings.model_copy(update={"api": api.model_copy(update={"demo_keys": True})})


def announce_demo_keys(settings: Settings) -> None:
    """Say at start, on stderr, that the API accepts the public demo keys."""
    if settings.api.keys or not settings.api.demo_keys:
        return
    sys.stderr.write(
        f"API on {settings.api.host}:{settings.api.port} accepts the PUBLIC demo keys "
        "(demo-admin, demo-regulator, ...; docs/api.md): configure CREDITBRAIN_API__KEYS "
        "before anyone else can reach it\n"
    )
    sys.stderr.flush()


def api_services(
    settings: Settings, bootstrap: str, stream: Stream, sink: ClickHouseSink
) -> list[Service]:
    """The HTTP API (answering with the worker's live policies) and the webhook dispatcher."""
    from dataclasses import asdict

    from creditbrain.api.metrics import watch_dispatcher
    from creditbrain.api.server import build_api_service, build_webhook_dispatcher

    settings = with_demo_keys(settings)
    announce_demo_keys(settings)
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
