"""Every error of the API as an RFC 9457 problem (``application/problem+json``).

A route raises :class:`fastapi.HTTPException` (or lets :class:`StoreError`, a
validation error or a bug escape); the handlers installed by :func:`install` shape
each into one body::

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "the request has invalid fields", "instance": "urn:uuid:...",
     "errors": [{"in": "query", "field": "since", "detail": "..."}]}

``instance`` names this occurrence, not the request: a path may hold a clear
resident identity number, which must appear nowhere, so the body never repeats the
path, and a validation error lists the failing fields without the rejected values.
An unexpected exception is logged with its ``instance``, so a caller who quotes it
can be matched with the log line.

:class:`FiniteJsonRoute` parses request bodies with orjson, which refuses ``NaN``,
``Infinity``, numbers beyond a double (``1e400``), lone surrogates and nesting deeper
than 1,024 levels: each is a 422 problem instead of a value that breaks later.

How each route declares its problems in the OpenAPI document is
:mod:`creditbrain.api.responses`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Literal

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditbrain.core.errors import StoreError

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One failing field of a request: where it is, which, and what is wrong with it."""

    location: Literal["path", "query", "header", "cookie", "body"] = Field(alias="in")
    field: str = Field(description="The parameter's name, or a JSON pointer into the body.")
    detail: str

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class Problem(BaseModel):
    """An error as RFC 9457 describes it; ``errors`` only on validation problems.

    Extension members (RFC 9457 section 3.2) are kept, e.g. ``/health``'s ``store``.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI of the problem type.")
    title: str = Field(description="The HTTP status phrase.")
    status: int
    detail: str = Field(description="What went wrong, for a person to read.")
    instance: str = Field(description="URN of this occurrence; quote it to the operators.")
    errors: list[FieldProblem] | None = None


def problem(
    status: int,
    detail: str,
    errors: Sequence[FieldProblem] | None = None,
    **members: object,
) -> Problem:
    """A problem of ``status``, titled by its phrase, with a fresh ``instance``.

    >>> found = problem(404, "no such alert")
    >>> (found.type, found.title, found.status, found.instance.startswith("urn:uuid:"))
    ('about:blank', 'Not Found', 404, True)
    """
    return Problem(
        title=phrase(status),
        status=status,
        detail=detail,
        instance=f"urn:uuid:{uuid.uuid4()}",
        errors=list(errors) if errors is not None else None,
        **members,
    )


def invalid(loc: tuple[str, ...], message: str) -> RequestValidationError:
    """A 422 about one field (``("query", "cursor")``, ``("body", "reason")``), raised
    from a route like a failed schema check, so it lists the field in ``errors``."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": message}])


def problem_response(found: Problem, headers: Mapping[str, str] | None = None) -> Response:
    """The problem as a response (no body for statuses that allow none)."""
    if not is_body_allowed_for_status_code(found.status):
        return Response(status_code=found.status, headers=headers)
    body = orjson.dumps(
        found.model_dump(mode="json", exclude={"errors"} if found.errors is None else None)
    )
    return Response(body, found.status, headers, media_type=PROBLEM_MEDIA_TYPE)


#: RFC 9110's names where Python's (before 3.13) are older.
_RFC_9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def phrase(status: int) -> str:
    """The status's phrase as RFC 9110 names it.

    >>> phrase(422), phrase(404), phrase(599)
    ('Unprocessable Content', 'Not Found', 'Error')
    """
    if status in _RFC_9110_PHRASES:
        return _RFC_9110_PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def field_problems(errors: Iterable[Any]) -> list[FieldProblem]:
    """The failing fields of pydantic/FastAPI errors, never with the rejected value.

    >>> [p.model_dump(by_alias=True) for p in field_problems([
    ...     {"loc": ("query", "limit"), "msg": "Input should be >= 1", "input": "0"},
    ...     {"loc": ("body", "override", 0), "msg": "Value error, bad 123456789",
    ...      "input": "123456789"},
    ...     {"loc": ("body",), "msg": "Field required", "input": None}])]
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'in': 'query', 'field': 'limit', 'detail': 'Input should be >= 1'},
     {'in': 'body', 'field': '/override/0', 'detail': 'invalid value'},
     {'in': 'body', 'field': '', 'detail': 'Field required'}]
    """
    found = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        where = loc[0] if loc and loc[0] in ("path", "query", "header", "cookie") else "body"
        rest = loc[1:] if loc and loc[0] == where else loc
        if where == "body":
            name = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in rest)
        else:
            name = ".".join(str(part) for part in rest)
        found.append(FieldProblem(location=where, field=name, detail=_message(error)))
    return found


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"the body is not JSON: {reason}" if reason else "the body is not JSON"
    rejected = error.get("input")
    # A custom validator may quote what it refused; a rejected value may be a clear id.
    if isinstance(rejected, str | int | float) and len(str(rejected)) >= 3:
        if str(rejected) in message:
            return "invalid value"
    return message


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)  # noqa: S101 - registered for it only
    return problem_response(problem(error.status_code, str(error.detail)), error.headers)


async def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    found = problem(422, "the request has invalid fields", field_problems(error.errors()))
    return problem_response(found)


async def _store_unavailable(request: Request, error: Exception) -> Response:
    found = problem(503, "the store is unavailable; try again later")
    # The store's message may name its address: logged for operators, never answered.
    logger.warning("%s %s: store unavailable (%s)", request.method, _route(request), error)
    return problem_response(found, {"Retry-After": "5"})


async def _unexpected(request: Request, error: Exception) -> Response:
    found = problem(500, "an unexpected error occurred; quote the instance to the operators")
    logger.error(
        "%s %s failed, %s", request.method, _route(request), found.instance, exc_info=error
    )
    return problem_response(found)


def _route(request: Request) -> str:
    """The route's template (``/subjects/{subject_id}``), never the path as sent."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "(no route)"))


Handler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]
RouteHandler = Callable[[Request], Coroutine[Any, Any, Response]]


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem."""
    handlers: dict[type[Exception], Handler] = {
        StarletteHTTPException: _http_error,
        RequestValidationError: _invalid_request,
        StoreError: _store_unavailable,
        Exception: _unexpected,
    }
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)


class _FiniteJsonRequest(Request):
    async def json(self) -> Any:
        # orjson.JSONDecodeError is a json.JSONDecodeError: FastAPI makes it a 422.
        return orjson.loads(await self.body())


class FiniteJsonRoute(APIRoute):
    """A route whose JSON body holds only finite numbers and valid text (orjson's rules)."""

    def get_route_handler(self) -> RouteHandler:
        """The route's handler, given a request that parses its body with orjson."""
        handler = super().get_route_handler()

        async def finite(request: Request) -> Response:
            return await handler(_FiniteJsonRequest(request.scope, request.receive))

        return finite


async def with_outcome(
    handle: RouteHandler, request: Request, record: Callable[[int], Awaitable[None]]
) -> Response:
    """``handle(request)``, then ``record(status)`` whatever the outcome.

    The status is the answer's, a refusal's (``HTTPException``, 422 for validation),
    or 500 for anything else; the error still propagates. Routes that audit every
    attempt (credit checks, policy previews) wrap their handler with it.
    """
    outcome = HTTPStatus.INTERNAL_SERVER_ERROR.value
    try:
        response = await handle(request)
        outcome = response.status_code
        return response
    except StarletteHTTPException as refused:
        outcome = refused.status_code
        raise
    except RequestValidationError:
        outcome = HTTPStatus.UNPROCESSABLE_ENTITY.value
        raise
    finally:
        await record(outcome)
