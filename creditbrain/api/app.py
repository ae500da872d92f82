"""The FastAPI application: :func:`create_app` wires routers, auth and the store.

The app is built from plain values, so the same factory serves ``creditbrain serve``
(embedded store, the worker's live policies and counters), ``creditbrain api`` (a
ClickHouse server) and the tests (a real store, a fake publisher).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from creditbrain.api import (
    alerts,
    cases,
    inspections,
    metrics,
    ops,
    preview,
    problems,
    responses,
    shadow,
    snoozes,
    subjects,
    subscriptions,
    watchlists,
)
from creditbrain.api import policies as policy_routes
from creditbrain.api.auth import KeyRing
from creditbrain.api.context import (
    ApiContext,
    PolicyPublisher,
    PolicySource,
    SinkLag,
    Stats,
    policies_from_audit,
)
from creditbrain.api.guards import BodyLimit, ErrorBodyScrub
from creditbrain.api.measures import DEFAULT_CATALOGUE, MeasureCatalogue
from creditbrain.api.ratelimit import RouteLimits
from creditbrain.api.subjects import deployment_scorecard
from creditbrain.infra.store import Store
from creditbrain.settings import Settings

API_VERSION = "1.0.0"
_DESCRIPTION = (
    "Credit checks, warnings, live warning policies and webhook subscriptions of the city's "
    "public credit platform. Every route but `/health` needs an API key (`X-API-Key`). "
    "Every error is an RFC 9457 problem (`application/problem+json`); lists come in pages "
    "(`limit`, `cursor`, the `next` link)."
)


class _CreditBrainApi(FastAPI):
    """FastAPI whose OpenAPI document carries the problem schema its errors use."""

    def openapi(self) -> dict[str, Any]:
        return responses.document(self, super().openapi())


def create_app(
    settings: Settings,
    store_factory: Callable[[], Store],
    producer: PolicyPublisher,
    *,
    policies: PolicySource = policies_from_audit,
    stats: Stats | None = None,
    sink_lag: SinkLag | None = None,
    catalogue: MeasureCatalogue | None = None,
) -> FastAPI:
    """The HTTP API.

    Parameters
    ----------
    settings
        The deployment's settings (keys, rate limit, topic prefix, pseudonym key).
    store_factory
        Opens the store; called once, on the first request that needs it.
    producer
        Publishes policy changes (``await producer.send(topic, key, value)``).
    policies
        ``policies(store) -> PolicySet`` in force; by default rebuilt from the audit.
    stats, sink_lag
        The host's counters for ``/metrics`` and the sink's lag for ``/health``.
    catalogue
        Joint reward/punishment measures; default: ``settings.api.measures_file`` or
        the built-in catalogue.
    """
    if catalogue is None and settings.api.measures_file is not None:
        catalogue = MeasureCatalogue.load(settings.api.measures_file)
    deployment_scorecard(settings.scorecard_file)  # a bad file stops the start, as the worker's
    app = _CreditBrainApi(title="creditbrain", version=API_VERSION, description=_DESCRIPTION)
    app.state.context = ApiContext(
        settings=settings,
        keys=KeyRing.from_settings(settings),
        store_factory=store_factory,
        publisher=producer,
        catalogue=catalogue or DEFAULT_CATALOGUE,
        limits=RouteLimits(settings.api),
        policy_source=policies,
        stats=stats,
        sink_lag=sink_lag,
    )
    problems.install(app)
    metrics.install(app, app.state.context)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    # Added last, so outermost: it sees every error answer, whoever shaped it.
    app.add_middleware(ErrorBodyScrub, key=settings.pseudonym_key.get_secret_value().encode())
    for module in (
        subjects,
        snoozes,
        alerts,
        cases,
        inspections,
        shadow,  # before policy_routes: /policies/shadow is not a scope
        policy_routes,
        preview,
        subscriptions,
        watchlists,
        ops,
    ):
        app.include_router(module.router)
    return app
