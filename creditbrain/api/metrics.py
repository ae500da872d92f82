"""The API's Prometheus families (prometheus-client): request latency, counters, host stats.

:func:`install` gives the app its own registry with

- ``creditbrain_http_request_seconds{method,route,status}``: a histogram of every
  request, by route template (``/subjects/{subject_id}``, not the id: bounded labels);
- the API's counters (credit checks, rate-limited checks, policy changes) and whatever
  the host passes as ``stats`` (the worker's and sink's counters in ``serve``), read at
  scrape time: names ending in ``_total`` are counters, the rest gauges, every name
  with the ``creditbrain_`` prefix.

``/metrics`` (:mod:`.ops`) serves :func:`exposition`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditbrain.api.context import ApiContext

if TYPE_CHECKING:
    from creditbrain.api.webhooks import WebhookDispatcher

__all__ = ["exposition", "install", "watch_dispatcher"]

_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_BASE_COUNTERS = ("credit_checks_total", "credit_checks_rate_limited_total", "policy_changes_total")
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def metric_name(name: str) -> str:
    """The exposed name of a counter or stat.

    >>> metric_name("sink rows-scores_total")
    'creditbrain_sink_rows_scores_total'
    """
    return "creditbrain_" + _INVALID.sub("_", name)


class _ContextValues(Collector):
    def __init__(self, context: ApiContext) -> None:
        self.context = context

    def collect(self) -> Iterator[Metric]:
        values: dict[str, float] = dict.fromkeys(_BASE_COUNTERS, 0.0)
        values.update({name: float(count) for name, count in self.context.counters.items()})
        if self.context.stats is not None:
            values.update({name: float(v) for name, v in self.context.stats().items()})
        for name in sorted(values):
            metric = metric_name(name)
            if metric.endswith("_total"):
                yield CounterMetricFamily(metric.removesuffix("_total"), name, value=values[name])
            else:
                yield GaugeMetricFamily(metric, name, value=values[name])


def install(app: FastAPI, context: ApiContext) -> None:
    """Give ``app`` its registry and time every request into it."""
    registry = CollectorRegistry()
    registry.register(_ContextValues(context))
    latency = Histogram(
        "creditbrain_http_request_seconds",
        "Time to answer an HTTP request, by method, route template and status.",
        ["method", "route", "status"],
        buckets=_SECONDS,
        registry=registry,
    )
    app.state.metrics_registry = registry

    app.add_middleware(_TimeRequests, latency=latency)


class _TimeRequests:
    """Times every request into ``latency`` by method, route template and status.

    A plain ASGI middleware rather than ``@app.middleware("http")``: that one reads
    the request body through a task of its own, and an error raised while the body
    is read (the body cap's 413) would reach the route as a body it cannot parse.
    """

    def __init__(self, app: ASGIApp, latency: Histogram) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # an exception escaping the handlers is answered 500

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.latency.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - began
            )


class _Dispatcher(Collector):
    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self.dispatcher = dispatcher

    def collect(self) -> Iterator[Metric]:
        found = self.dispatcher
        for name, value, text in (
            ("deliveries", found.delivered, "Warnings delivered to webhook subscribers."),
            ("retries", found.retries, "Delivery attempts beyond the first."),
            ("dead_letters", found.dead_lettered, "Deliveries given up: webhook dead letters."),
            ("replayed", found.replayed, "Dead letters delivered on a later replay."),
        ):
            yield CounterMetricFamily(f"creditbrain_webhook_{name}", text, value=value)


def watch_dispatcher(app: FastAPI, dispatcher: WebhookDispatcher) -> None:
    """Expose the webhook dispatcher's counters on ``app``'s ``/metrics`` (same process)."""
    registry: CollectorRegistry = app.state.metrics_registry
    registry.register(_Dispatcher(dispatcher))


def exposition(app: FastAPI) -> bytes:
    """The Prometheus text of ``app``'s registry."""
    registry: CollectorRegistry = app.state.metrics_registry
    return generate_latest(registry)
