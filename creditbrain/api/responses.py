"""What each route can answer, in the OpenAPI document: every problem, every role.

A route declares the statuses particular to it with :func:`problem_responses`
(``responses=problem_responses(404, 503)``); :func:`document` adds to the app's
document those it has because of how it is built (401/403 behind a key, 422 with
parameters, 413 with a body, 500 everywhere), the roles that may call it
(``x-roles``) and the :class:`~creditbrain.api.problems.Problem` schema. A test
walks the document and calls every route to hold it to what it says.
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from creditbrain.api.auth import Allow, Role, authenticated
from creditbrain.api.problems import PROBLEM_MEDIA_TYPE, Problem, phrase

_SCHEMA_REF = "#/components/schemas/Problem"
_ALL_ROLES = frozenset(get_args(Role))

_DESCRIPTIONS = {
    304: "Not Modified: unchanged since the ETag sent in If-None-Match.",
    401: "No valid API key (X-API-Key or Authorization: Bearer).",
    403: "The key's role or scope does not allow this.",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "The body is too large.",
    422: "Invalid parameters or body; `errors` lists the fields.",
    429: "Too many requests; see Retry-After.",
    500: "An unexpected error; `instance` identifies it in the server's log.",
    503: "The store (or the broker) is unavailable; see Retry-After.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries of ``statuses``, each a :class:`Problem`.

    >>> entry = problem_responses(404)[404]
    >>> entry["content"]["application/problem+json"]["schema"]
    {'$ref': '#/components/schemas/Problem'}
    """
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, phrase(status)),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _SCHEMA_REF}}},
        }
        for status in statuses
    }


def shared_statuses(route: APIRoute) -> set[int]:
    """The statuses ``route`` can answer because of what it is built from.

    401 when a key is needed, 403 when only some roles are allowed, 422 when it has
    parameters or a body, 413 with a body, and 500 (a bug) everywhere.
    """
    tree = [route.dependant, *_dependencies(route.dependant)]
    found = {500}
    calls = [dependant.call for dependant in tree]
    if any(call is authenticated or isinstance(call, Allow) for call in calls):
        found.add(401)
    if any(isinstance(call, Allow) and call.roles != _ALL_ROLES for call in calls):
        found.add(403)
    params = [
        param
        for d in tree
        for param in (*d.path_params, *d.query_params, *d.header_params, *d.cookie_params)
    ]
    if params or route.body_field is not None:
        found.add(422)
    if route.body_field is not None:
        found.add(413)
    return found


def _roles(route: APIRoute) -> list[str] | None:
    """The roles that may call ``route`` (``None``: no key needed)."""
    calls = [dependant.call for dependant in _dependencies(route.dependant)]
    allowed = [call.roles for call in calls if isinstance(call, Allow)]
    if allowed:
        return sorted(frozenset.intersection(*allowed))
    if any(call is authenticated for call in calls):
        return sorted(_ALL_ROLES)
    return None


def _dependencies(dependant: Dependant) -> list[Dependant]:
    found = []
    for sub in dependant.dependencies:
        found += [sub, *_dependencies(sub)]
    return found


def document(app: FastAPI, openapi: dict[str, Any]) -> dict[str, Any]:
    """``openapi`` with every route's shared problems and the :class:`Problem` schema.

    Each operation behind a key also lists the roles that may call it (``x-roles``).

    FastAPI's own 422 entry (its ``HTTPValidationError``, as ``application/json``) is
    replaced: the API answers a validation error as a problem like any other.
    """
    paths = openapi.get("paths", {})
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        operations = paths.get(str(context.path), {})
        if not isinstance(route, APIRoute):
            continue
        roles = _roles(route)
        for method in context.methods or ():
            operation = operations.get(method.lower(), {})
            responses = operation.get("responses")
            if responses is None:
                continue
            if roles is not None:
                operation["x-roles"] = roles
            for status, entry in problem_responses(*sorted(shared_statuses(route))).items():
                if str(status) not in responses or status == 422:
                    responses[str(status)] = entry
    return with_problem_schema(openapi)


def with_problem_schema(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with :class:`Problem` among its schemas and FastAPI's 422 model gone."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schema = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}", mode="serialization"
    )
    schemas.update(schema.pop("$defs", {}))
    schemas["Problem"] = schema
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
