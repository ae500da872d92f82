"""``POST /policies/preview``: what a policy change would have done over the stored history.

The body is a change's (``scope``, ``override``, ``reason``) plus the window. The
candidate set is the set in force with ``scope``'s override replaced; both sets run
over the stored events of the window through the engine
(:func:`creditbrain.engine.compare.compare`, rules only) and the answer is the
difference (see that module for the counts and the outcome measures). Only the
events of subjects inside ``scope`` are replayed: a scope's override changes only
its own subjects' warnings, and every subject's warnings depend on its own events
alone. Persons' names are masked in the subjects listed.

A preview is a job kept in ``policy_previews``: the answer is ``202 Accepted`` with
its ``Location`` (``GET /policies/preview/{id}``: status, progress, then the result)
when the window is longer than :data:`SYNC_DAYS`, else the finished job at once.
Each preview is audited (``policy_preview``) like a credit check: who, which scope,
the window and the stated reason. *Every attempt* leaves exactly one such row with its
outcome (``details.outcome``: 200, 202, 401, 403, 422, 429, ...): a refused attempt
is written by the route class :class:`AuditedPreview` once the refusal is known,
whether the route ran or a dependency refused first (no key, a role that may not
preview, the rate limit, a body that does not validate).
"""

# The events query joins fixed fragments; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    HTTPException,
    Path,
    Request,
    Response,
    status,
)
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.types import Message, Receive

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.problems import FiniteJsonRoute, invalid, with_outcome
from creditbrain.api.responses import problem_responses
from creditbrain.api.subjects import deployment_scorecard
from creditbrain.engine.compare import compare
from creditbrain.infra.store import Store
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.policies import PolicyError, Scope
from creditbrain.schemas.reference import Reference
from creditbrain.schemas.warnings import mask_person_name


class AuditedPreview(FiniteJsonRoute):
    """The preview's route: an attempt the route did not audit itself is audited here.

    The route audits a preview it accepts (with the window and the reason) and marks
    the request so; any other outcome (refused by a dependency, by validation or by
    the route) gets one ``policy_preview`` row with that outcome. Other routes of the
    router are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.name != "preview_policy":
            return handle

        async def audited(request: Request) -> Response:
            # Read first (the audit names the scope asked for), then handed on as if unread.
            body = await request.body()
            request = Request(request.scope, _replay(body, request.receive))

            async def record(outcome: int) -> None:
                if not getattr(request.state, "preview_audited", False):
                    await _audit_refused(request, body, outcome)

            return await with_outcome(handle, request, record)

        return audited


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the client sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _audit_refused(request: Request, raw: bytes, outcome: int) -> None:
    """One ``policy_preview`` row for an attempt that was not accepted."""
    context: ApiContext = request.app.state.context
    key = context.settings.pseudonym_key.get_secret_value().encode()
    try:  # the body as sent, if it was JSON: the scope and reason asked for
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    asked = body if isinstance(body, dict) else {}
    scope = asked.get("scope")
    reason = asked.get("reason")
    principal = getattr(request.state, "principal", None)
    await run_in_threadpool(
        audit,
        context.store(),
        principal,
        "policy_preview",
        scope[:128] if isinstance(scope, str) else "",
        {"outcome": outcome},
        pseudonymise_text(reason[:2000], key) if isinstance(reason, str) else "",
    )


router = APIRouter(prefix="/policies", tags=["policies"], route_class=AuditedPreview)

#: Windows up to this many days are answered at once; longer ones run as a job (202).
SYNC_DAYS = 31
MAX_DAYS = 730
_COLUMNS = ("id", "actor", "scope", "status", "created_at", "request", "result", "revision")
#: Progress (0 to 1) of the jobs running in this process.
_PROGRESS: dict[str, float] = {}


class PreviewRequest(BaseModel):
    """A candidate override for ``scope`` (as in a change) and the history to try it on."""

    scope: str = Field(max_length=128)
    override: PolicyOverride | None
    reason: str = Field(min_length=1, max_length=2000)
    until: date | None = Field(None, description="Last day of the window (default: today, UTC).")
    days: int = Field(180, ge=1, le=MAX_DAYS, description="Days in the window (at most 2 years).")
    horizon_days: int = Field(
        180, ge=1, le=MAX_DAYS, description="How long after a warning a red outcome counts."
    )


class PreviewJob(BaseModel):
    """A preview: its status, progress while it runs, its result once done."""

    id: str
    scope: str
    status: Literal["running", "done", "failed"]
    progress: float | None = None
    result: dict[str, Any] | None = None


@router.post(
    "/preview",
    response_model=PreviewJob,
    responses={202: {"model": PreviewJob, "description": "Accepted: a long window runs as a job."},
               **problem_responses(503)},
)  # fmt: skip
async def preview_policy(
    request: PreviewRequest,
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
    response: Response,
    background: BackgroundTasks,
    http: Request,
) -> PreviewJob:
    """Run the candidate and the set in force over the window's stored events; compare."""
    if not request.reason.strip():
        raise invalid(("body", "reason"), "a reason is required")
    try:
        scope = Scope.parse(request.scope)
    except PolicyError as error:
        raise invalid(("body", "scope"), str(error)) from None
    if not principal.may_change(scope):
        raise out_of_scope()
    until = request.until or datetime.now(UTC).date()
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(days=request.days)
    store = context.store()
    live = await run_in_threadpool(context.policies)
    candidate = live.with_override(request.scope, request.override)
    job = PreviewJob(id=uuid.uuid4().hex, scope=request.scope, status="running", progress=0.0)
    # The reason is stored (audit, previews): no resident id in clear.
    reason = pseudonymise_text(
        request.reason, context.settings.pseudonym_key.get_secret_value().encode()
    )
    asked = request.model_dump(mode="json") | {
        "reason": reason,
        "from": start.isoformat(),
        "to": end.isoformat(),
    }
    long = request.days > SYNC_DAYS
    outcome = status.HTTP_202_ACCEPTED if long else status.HTTP_200_OK
    details = asked | {"outcome": outcome}
    await run_in_threadpool(
        audit, store, principal, "policy_preview", request.scope, details, reason
    )
    http.state.preview_audited = True
    await run_in_threadpool(_save, store, job, principal.name, asked, 1)
    ctx = _parse_context(context)
    config = deployment_scorecard(context.settings.scorecard_file)  # as the worker scores
    run = (store, job, principal.name, asked, ctx, config, scope, (start, end), (live, candidate))
    if long:
        background.add_task(_run, *run)  # sync: Starlette runs it in a thread
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/policies/preview/{job.id}"
        return job
    return await run_in_threadpool(_run, *run)


@router.get(
    "/preview/{preview_id}", response_model=PreviewJob, responses=problem_responses(404, 503)
)
def preview_result(
    preview_id: Annotated[str, Path(max_length=64, pattern="^[0-9a-f]{32}$")],
    principal: Annotated[Principal, Depends(Allow("supervisor", "admin"))],
    context: Annotated[ApiContext, Depends(get_context)],
) -> PreviewJob:
    """A preview's status, progress (0 to 1) while it runs, and its result once done."""
    rows = context.store().query_rows(
        "SELECT id, scope, status, result FROM policy_previews FINAL "
        "WHERE id = {id:String} LIMIT 1",
        {"id": preview_id},
    )
    if not rows or not principal.may_change(Scope.parse(str(rows[0]["scope"]), None)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such preview")
    row = rows[0]
    running = row["status"] == "running"
    return PreviewJob(
        id=preview_id,
        scope=str(row["scope"]),
        status=row["status"],
        progress=_PROGRESS.get(preview_id) if running else 1.0,
        result=orjson.loads(str(row["result"])) if row["result"] else None,
    )


def stored_lines(
    store: Store, scope: Scope, start: datetime, end: datetime
) -> tuple[list[bytes], dict[str, str]]:
    """The accepted events of ``scope`` that occurred in ``[start, end)``, as wire messages.

    In event-time order; persons' ids are their pseudonyms (read back with a
    context that accepts them). Also each subject's latest name.
    """
    where = [
        "occurred_at >= {start:DateTime64(3, 'UTC')}",
        "occurred_at < {end:DateTime64(3, 'UTC')}",
    ]
    parameters: dict[str, object] = {"start": start, "end": end}
    scope.restrict(where, parameters)
    rows = store.query_rows(
        "SELECT toString(event_id) AS event_id, kind, subject_id, subject_type, subject_name, "
        "source, sector, district, toUnixTimestamp64Milli(occurred_at) AS occurred, "
        "toUnixTimestamp64Milli(reported_at) AS reported, payload FROM events FINAL "
        f"WHERE {' AND '.join(where)} ORDER BY occurred_at, reported_at, event_id",
        parameters,
    )
    names = {str(row["subject_id"]): str(row["subject_name"]) for row in rows}
    return [_wire(row) for row in rows], names


def _wire(row: dict[str, object]) -> bytes:
    subject: dict[str, object] = {"type": row["subject_type"], "id": row["subject_id"]}
    if row["subject_name"]:
        subject["name"] = row["subject_name"]
    return orjson.dumps(
        {
            "schema_version": 1,
            "event_id": row["event_id"],
            "kind": row["kind"],
            "subject": subject,
            "source": row["source"],
            "sector": row["sector"],
            "district": row["district"],
            "occurred_at": _iso(row["occurred"]),
            "reported_at": _iso(row["reported"]),
            "payload": orjson.loads(str(row["payload"])),
        }
    )


def _iso(ms: object) -> str:
    return datetime.fromtimestamp(int(str(ms)) / 1000, UTC).isoformat(timespec="milliseconds")


def _parse_context(context: ApiContext) -> ParseContext:
    settings = context.settings
    return ParseContext(
        pseudonym_key=settings.pseudonym_key.get_secret_value().encode(),
        reference=Reference(credit_code_allow_list=settings.credit_code_allow_list),
        accept_pseudonyms=True,
    )


def _run(
    store: Store,
    job: PreviewJob,
    actor: str,
    asked: dict[str, Any],
    ctx: ParseContext,
    config: ScorecardConfig,
    scope: Scope,
    window: tuple[datetime, datetime],
    sets: tuple[PolicySet, PolicySet],
) -> PreviewJob:
    """Replay, compare, keep the result; a failure is kept as the job's status."""
    try:
        lines, names = stored_lines(store, scope, *window)
        _PROGRESS[job.id] = 0.0
        comparison = compare(
            lines,
            ctx,
            config,
            *sets,
            until_ms=int(window[1].timestamp() * 1000),
            horizon_days=int(asked["horizon_days"]),
            progress=lambda share: _PROGRESS.__setitem__(job.id, share),
        )
        result = comparison.as_dict()
        for listed in (result["added"], result["removed"]):
            for subject in listed:
                name = names.get(subject["subject_id"], "")
                subject["name"] = (
                    mask_person_name(name) if subject["subject_type"] == "person" else name
                )
        finished = job.model_copy(update={"status": "done", "progress": 1.0, "result": result})
    except Exception as error:  # a job's failure is its answer, not a lost task
        result = {"error": f"{type(error).__name__}: {error}"}
        finished = job.model_copy(update={"status": "failed", "result": result})
    finally:
        _PROGRESS.pop(job.id, None)
    _save(store, finished, actor, asked, 2)
    return finished


def _save(store: Store, job: PreviewJob, actor: str, asked: dict[str, Any], revision: int) -> None:
    row = {
        "id": job.id,
        "actor": actor,
        "scope": job.scope,
        "status": job.status,
        "created_at": datetime.now(UTC),
        "request": orjson.dumps(asked).decode(),
        "result": orjson.dumps(job.result).decode() if job.result is not None else "",
        "revision": revision,
    }
    store.insert_rows("policy_previews", [row], _COLUMNS)
