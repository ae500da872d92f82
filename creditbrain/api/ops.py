"""``/health`` (no key: load balancers probe it) and ``/metrics`` (Prometheus text).

A healthy store answers 200 with :class:`Health`; an unreachable one 503 with a
problem (``application/problem+json``) that carries the same ``store`` and
``sink_lag`` members, so a probe reads both the same way.

``/metrics`` serves the API's registry (:mod:`.metrics`): request latency by route
and status, the API's own counters, and whatever the host passes as ``stats`` (the
worker's and the sink's counters in ``serve``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from creditbrain.api.auth import Allow, Principal
from creditbrain.api.context import ApiContext, get_context
from creditbrain.api.metrics import exposition
from creditbrain.api.problems import FiniteJsonRoute, problem, problem_response
from creditbrain.api.responses import problem_responses
from creditbrain.core.errors import StoreError

router = APIRouter(tags=["operations"], route_class=FiniteJsonRoute)


class Health(BaseModel):
    """Whether the API can answer: the store reachable, and the sink's lag if known."""

    status: str
    store: str
    sink_lag: float | None = None


_UNHEALTHY = problem_responses(503)[503] | {
    "description": "The store does not answer: a problem with the members `store` "
    "(`unreachable`) and `sink_lag`."
}


@router.get("/health", response_model=Health, responses={503: _UNHEALTHY})
async def health(context: Annotated[ApiContext, Depends(get_context)]) -> Response:
    """``200`` when the store answers, ``503`` (a problem) otherwise."""
    try:
        await run_in_threadpool(lambda: context.store().query_rows("SELECT 1 AS ok"))
        store = "ok"
    except StoreError:
        store = "unreachable"
    lag = context.sink_lag() if context.sink_lag else None
    if store == "ok":
        return JSONResponse(Health(status="ok", store=store, sink_lag=lag).model_dump())
    found = problem(503, "the store does not answer", store=store, sink_lag=lag)
    return problem_response(found, {"Retry-After": "5"})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(
    _: Annotated[Principal, Depends(Allow("admin", "leadership", "regulator"))],
    request: Request,
) -> Response:
    """The API's and the host's counters in the Prometheus text format."""
    return Response(exposition(request.app), media_type=CONTENT_TYPE_LATEST)
