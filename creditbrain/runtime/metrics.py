"""The metrics port of a worker or sink process, as a service of its event loop."""

from __future__ import annotations

import time
from typing import Any

from mode import Service
from prometheus_client import CollectorRegistry

from creditbrain.infra.metrics_http import HealthCheck, MetricsServer
from creditbrain.settings import Settings
from creditbrain.streams.app import Stream
from creditbrain.streams.sink import SinkStats

#: A sink whose inserts have failed for this long with no success is unhealthy.
SINK_FAILING_AFTER_S = 60.0


class MetricsService(Service):
    """Serves a :class:`MetricsServer` for as long as the worker runs."""

    def __init__(self, server: MetricsServer, **kwargs: Any) -> None:
        self.server = server
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self.server.start()

    async def on_stop(self) -> None:
        await self.server.stop()


def worker_health(stream: Stream, sink: SinkStats | None) -> HealthCheck:
    """Ready once the models' checkpoints are read; unhealthy while the sink keeps failing."""

    def check() -> str | None:
        if stream.keeper is not None and not stream.keeper.ready.is_set():
            return "restoring state"
        return sink_health(sink)() if sink is not None else None

    return check


def sink_health(stats: SinkStats) -> HealthCheck:
    """Unhealthy while inserts fail and none has succeeded for :data:`SINK_FAILING_AFTER_S`.

    >>> stats = SinkStats()
    >>> sink_health(stats)() is None
    True
    >>> stats.failures, stats.last_error = 3, "scores: connection refused"
    >>> sink_health(stats)()
    'inserts failing: scores: connection refused'
    """

    def check() -> str | None:
        quiet = time.time() - stats.last_flush_at
        if stats.failures and stats.last_error and quiet > SINK_FAILING_AFTER_S:
            return f"inserts failing: {stats.last_error}"
        return None

    return check


def metrics_server(
    settings: Settings, registry: CollectorRegistry, check: HealthCheck, name: str
) -> MetricsServer | None:
    """The process's metrics server when ``CREDITBRAIN_METRICS__PORT`` is set, else ``None``."""
    if settings.metrics.port is None:
        return None
    return MetricsServer(registry, settings.metrics.host, settings.metrics.port, check, name)
