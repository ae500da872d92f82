"""A process's metrics port: ``/metrics`` (Prometheus) and ``/health`` (readiness, liveness).

Workers and sinks serve it on the event loop they already run (aiohttp, which Faust
brings), so no thread is added. ``/health`` answers 200 with a small JSON body
while ``check()`` returns no problem, 503 with the problem otherwise; liveness and
readiness probes both use it.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["MetricsServer"]

#: ``None`` when healthy, else a one-line reason.
HealthCheck = Callable[[], str | None]


class MetricsServer:
    """Serves ``registry`` on ``host:port`` until :meth:`stop` (``port=0``: a free one)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        host: str,
        port: int,
        check: HealthCheck = lambda: None,
        process: str = "creditbrain",
    ) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self.check = check
        self.process = process
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        if self.port == 0:
            server = site._server  # noqa: SLF001 - aiohttp exposes the bound port nowhere else
            sockets = getattr(server, "sockets", None) or []
            self.port = sockets[0].getsockname()[1] if sockets else 0

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, _: web.Request) -> web.Response:
        problem = self.check()
        if problem is None:
            return web.json_response({"status": "ok", "process": self.process})
        return web.json_response(
            {"status": "unhealthy", "process": self.process, "detail": problem}, status=503
        )
