"""ASGI middleware at the API's door: request bodies capped, error bodies without ids.

:class:`BodyLimit` caps what a request may send. A declared ``Content-Length``
over the cap is refused before a byte of the body is read; a chunked body (no
length declared) is counted as it arrives and refused at the first chunk past the
cap, so the body is never held whole. The refusal is an ``HTTPException(413)``
raised where the route reads its body, so the app's exception handlers shape the
answer like every other error. A route that never reads its body never receives it.

:class:`ErrorBodyScrub` reads every error answer (4xx, 5xx) before it leaves and
replaces any valid resident id in it by its pseudonym: a validation error echoes
the input it refused, and that input may hold an id in clear.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditbrain.api.freetext import pseudonymise_text


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the request body is larger than {limit} bytes"
    )


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` (413), declared or chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0
        limit = self.max_bytes

        async def capped() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, capped, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ErrorBodyScrub:
    """Replaces resident ids in error bodies (status >= 400) by their pseudonyms."""

    def __init__(self, app: ASGIApp, key: bytes) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def scrubbing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    await send(message)
                else:
                    start = dict(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            # An error body is small (a message, a list of problems): held whole.
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            text = body.decode("utf-8", errors="replace")
            scrubbed = pseudonymise_text(text, self.key, embedded=True)
            if scrubbed != text:
                body = scrubbed.encode()
            headers = [
                (name, value)
                for name, value in start.get("headers", [])
                if name != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, scrubbing)
