"""``/health`` (no key: load balancers probe it) and ``/metrics`` (Prometheus text).

A healthy store answers 200 with :class:`Health`; an unreachable one 503 with a
problem (``application/problem+json``) that carries the same ``store`` and
``sink_lag`` members, so a probe reads both the same way.

``/metrics`` joins the API's own counters (credit checks, rate-limited checks,
policy changes) with whatever the host passes as ``stats`` (the worker's and the
sink's counters in ``serve``). Names ending in ``_total`` are counters, the rest
gauges; every name gets the ``creditbrain_`` prefix.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from creditbrain.api.auth import Allow, Principal
from creditbrain.api.context import ApiContext, get_context
from creditbrain.api.problems import FiniteJsonRoute, problem, problem_response
from creditbrain.api.responses import problem_responses
from creditbrain.core.errors import StoreError

router = APIRouter(tags=["operations"], route_class=FiniteJsonRoute)

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


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


def prometheus_text(values: dict[str, float]) -> str:
    """Prometheus exposition text of ``{name: value}``, sorted by name.

    >>> print(prometheus_text({"credit_checks_total": 3, "sink lag": 1.5}), end="")
    # TYPE creditbrain_credit_checks_total counter
    creditbrain_credit_checks_total 3
    # TYPE creditbrain_sink_lag gauge
    creditbrain_sink_lag 1.5
    """
    lines = []
    for name in sorted(values):
        metric = "creditbrain_" + _INVALID.sub("_", name)
        kind = "counter" if metric.endswith("_total") else "gauge"
        value = float(values[name])
        shown = str(int(value)) if value.is_integer() else repr(value)
        if math.isnan(value):
            shown = "NaN"
        lines += [f"# TYPE {metric} {kind}", f"{metric} {shown}"]
    return "\n".join(lines) + "\n"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(
    _: Annotated[Principal, Depends(Allow("admin", "leadership", "regulator"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PlainTextResponse:
    """The API's and the host's counters in the Prometheus text format."""
    values: dict[str, float] = {
        "credit_checks_total": 0,
        "credit_checks_rate_limited_total": 0,
        "policy_changes_total": 0,
    }
    values.update({name: float(count) for name, count in context.counters.items()})
    if context.stats is not None:
        values.update({name: float(value) for name, value in context.stats().items()})
    return PlainTextResponse(prometheus_text(values), media_type="text/plain; version=0.0.4")
