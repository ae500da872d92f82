"""``GET /subjects/{id}``: the credit check (信用核查) of one subject.

The answer is what a service hall, a regulator or a supervisor needs to act: the
score and grade with their reasons, the lists the subject is on, the joint reward
and punishment measures that follow (:mod:`creditbrain.api.measures`), its open
alerts and its recent score history.

A person is looked up by pseudonym: a clear resident identity number in the path is
pseudonymised with the deployment's key before anything else and appears nowhere
after that, neither in the answer, nor in the audit, nor in an error message.
Every check states its purpose and is audited; each key is rate limited.

*Every attempt* leaves exactly one ``credit_check`` audit row with its outcome
(``details.outcome``: 200, 401, 403, 404, 422, 429, ...): the route class
:class:`AuditedCheck` writes it once the answer is known, whether the route ran or
a dependency refused first (no key, a role that may not check, the rate limit, a
missing purpose). The row names the subject only as it would be stored (credit
code or pseudonym, empty when the id was not valid) and the purpose with any
resident id in it pseudonymised (:mod:`creditbrain.api.freetext`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from creditbrain.api.auth import Allow, Principal, out_of_scope
from creditbrain.api.context import ApiContext, audit, get_context, get_store
from creditbrain.api.freetext import pseudonymise_text
from creditbrain.api.lookup import SubjectRows, fetch_subjects
from creditbrain.api.measures import Measure
from creditbrain.api.objections import PendingObjection, objections_of
from creditbrain.api.problems import FiniteJsonRoute, with_outcome
from creditbrain.api.responses import problem_responses
from creditbrain.api.views import Alert, Reason, SubjectRef, alert_of, reasons_of
from creditbrain.infra.store import Store
from creditbrain.models.overrides import ScorecardInUse
from creditbrain.models.scorecard import ScorecardConfig, load_scorecard
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.identifiers import (
    is_pseudonym,
    is_valid_credit_code,
    is_valid_resident_id,
    normalise_credit_code,
    pseudonymise_person_id,
)
from creditbrain.schemas.warnings import Contribution

#: The longest purpose kept (the route refuses longer ones, which are audited cut).
_PURPOSE_CHARS = 500
#: Kinds that put a subject on a list by themselves; list_entry names its list in the event.
_LIST_KINDS = ("dishonest_debtor", "consumption_restriction")
_MODEL_RULES = ("anomalous_deterioration", "predicted_serious_default")


class ScorePoint(BaseModel):
    """One change of the score."""

    as_of: datetime
    score: int
    grade: str
    cause: str
    event_id: str


class CreditCheck(BaseModel):
    """The answer to a credit check."""

    subject: SubjectRef
    sector: str
    district: str
    score: int
    grade: str
    reasons: list[Reason]
    #: Which scorecard the score follows: the default, or which sector or person overrides.
    scorecard: ScorecardInUse = ScorecardInUse()
    lists: list[str]
    measures: list[Measure]
    open_alerts: list[Alert]
    #: Open model warnings (alert id ->) why the model warned: its top contributions.
    explanations: dict[str, list[Contribution]] = {}
    score_history: list[ScorePoint]
    objections_pending: list[PendingObjection] = []
    last_event_at: datetime
    checked_at: datetime


def candidate_ids(raw: str, key: bytes, allow_list: frozenset[str]) -> list[str]:
    """The subject ids ``raw`` may stand for, most likely first; empty if none.

    An 18-digit string can be both a valid resident id and a valid credit code, so
    both are tried (the pseudonym second: credit codes are what halls mostly type).
    """
    text = raw.strip()
    if is_pseudonym(text):
        return [text]
    upper = text.upper()
    found = []
    if is_valid_credit_code(upper) or normalise_credit_code(text) in allow_list:
        found.append(upper)
    if is_valid_resident_id(upper):
        found.append(pseudonymise_person_id(upper, key))
    return found


class AuditedCheck(FiniteJsonRoute):
    """The credit check's route: every attempt, answered or refused, leaves one audit row.

    Other routes of the router are left as they are.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if self.name != "credit_check":
            return handle

        async def audited(request: Request) -> Response:
            async def record(outcome: int) -> None:
                await run_in_threadpool(_audit_attempt, request, outcome)

            return await with_outcome(handle, request, record)

        return audited


def _audit_attempt(request: Request, outcome: int) -> None:
    context: ApiContext = request.app.state.context
    key = context.settings.pseudonym_key.get_secret_value().encode()
    subject = getattr(request.state, "audit_subject", None)
    if subject is None:
        ids = candidate_ids(
            str(request.path_params.get("subject_id", ""))[:64], key,
            context.settings.credit_code_allow_list,
        )  # fmt: skip
        subject = ids[0] if ids else ""
    details = {"outcome": outcome, **getattr(request.state, "audit_details", {})}
    purpose = pseudonymise_text(request.query_params.get("purpose", ""), key)[:_PURPOSE_CHARS]
    principal = getattr(request.state, "principal", None)
    audit(context.store(), principal, "credit_check", subject, details, purpose=purpose)


router = APIRouter(prefix="/subjects", tags=["credit check"], route_class=AuditedCheck)


@router.get(
    "/{subject_id}",
    response_model=CreditCheck,
    responses=problem_responses(404, 429, 503),
)
def credit_check(
    subject_id: Annotated[
        str,
        Path(
            max_length=64,
            description="Unified social credit code, resident identity number (looked up by "
            "its pseudonym, never stored) or person pseudonym (p:...).",
        ),
    ],
    purpose: Annotated[
        str,
        Query(min_length=1, max_length=500, description="Why the check is made (audited)."),
    ],
    principal: Annotated[
        Principal, Depends(Allow("service_hall", "regulator", "supervisor", "admin"))
    ],
    context: Annotated[ApiContext, Depends(get_context)],
    store: Annotated[Store, Depends(get_store)],
    request: Request,
) -> CreditCheck:
    """Score, grade, reasons, lists, applicable measures, open alerts and score history."""
    if not purpose.strip():  # blanks state no purpose
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a purpose is required")
    settings = context.settings
    ids = candidate_ids(
        subject_id,
        settings.pseudonym_key.get_secret_value().encode(),
        settings.credit_code_allow_list,
    )
    if not ids:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "not a valid credit code, resident identity number or pseudonym",
        )
    context.counters["credit_checks_total"] += 1
    # One read for everything the answer shows (creditbrain.api.lookup).
    found = fetch_subjects(store, ids, settings.api.score_history)
    # The audit names the first candidate when nothing is found: never the clear number.
    found_id = found[0].subject_id if found else ids[0]
    state = found[0].state if found else {}
    in_scope = not found or principal.covers(str(state["sector"]), str(state["district"]))
    # Audited by AuditedCheck once the answer is known.
    request.state.audit_subject = found_id
    request.state.audit_details = {"found": bool(found), "allowed": in_scope}
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such subject")
    if not in_scope:
        raise out_of_scope()
    answer = _answer(context, store, found[0])
    # Which joint measures the check presented: the plan's "measures applied" share
    # is judged against what departments were shown.
    request.state.audit_details["measures"] = [measure.code for measure in answer.measures]
    return answer


def _answer(context: ApiContext, store: Store, found: SubjectRows) -> CreditCheck:
    row = found.state
    now = datetime.now(UTC)
    reasons = reasons_of(row["reasons"])
    lists = _lists(found, reasons)
    grade = str(row["grade"])
    return CreditCheck(
        subject=SubjectRef(
            type=str(row["subject_type"]), id=found.subject_id, name=str(row["subject_name"])
        ),
        sector=str(row["sector"]),
        district=str(row["district"]),
        score=int(str(row["score"])),
        grade=grade,
        reasons=reasons,
        scorecard=deployment_scorecard(context.settings.scorecard_file).in_use(
            str(row["sector"]), SubjectType(str(row["subject_type"]))
        ),
        lists=lists,
        measures=context.catalogue.applicable(grade, lists),
        # acknowledgements included
        open_alerts=(alerts := [alert_of(alert) for alert in found.alerts]),
        explanations=_explanations(store, alerts),
        score_history=[ScorePoint.model_validate(point) for point in found.history],
        objections_pending=objections_of(context, store, found.subject_id, now),
        last_event_at=row["last_event_at"],
        checked_at=now,
    )


@lru_cache(maxsize=4)
def deployment_scorecard(path: FilePath | None) -> ScorecardConfig:
    """The deployment's scorecard, read once, as the worker read it when it started."""
    return load_scorecard(path)


def _explanations(store: Store, alerts: list[Alert]) -> dict[str, list[Contribution]]:
    """The explanation each open model warning was last sent with (``data.explanation``)."""
    ids = [alert.alert_id for alert in alerts if alert.rule in _MODEL_RULES]
    if not ids:
        return {}
    rows = store.query_rows(
        "SELECT alert_id, argMax(JSONExtractRaw(body, 'data', 'explanation'), time) AS why "
        "FROM alert_events WHERE alert_id IN {ids:Array(String)} GROUP BY alert_id",
        {"ids": ids},
    )
    found: dict[str, list[Contribution]] = {}
    for row in rows:
        items = orjson.loads(str(row["why"] or "[]"))
        if isinstance(items, list) and items:
            found[str(row["alert_id"])] = [Contribution.model_validate(i) for i in items]
    return found


def _lists(found: SubjectRows, reasons: list[Reason]) -> list[str]:
    """The lists the subject is on, from the records that count now."""
    lists = {reason.kind for reason in reasons if reason.kind in _LIST_KINDS}
    for reason in reasons:
        if reason.kind == "list_entry" and found.list_entries.get(reason.event_id):
            lists.add(found.list_entries[reason.event_id])
    return sorted(lists)
