"""The OpenAPI schema as a committed artefact (``docs/openapi.json``).

A test compares the app's schema with the committed file, so an API change shows up
in review as a diff of that file. Regenerate it after changing a route::

    .venv/bin/python -m creditbrain.api.openapi            # writes docs/openapi.json
    .venv/bin/python -m creditbrain.api.openapi --check    # exit 1 if it is stale
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from creditbrain.api.app import create_app
from creditbrain.api.measures import DEFAULT_CATALOGUE
from creditbrain.core.errors import ConfigurationError
from creditbrain.infra.store import Store
from creditbrain.settings import Settings

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


class _NoPublisher:
    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        raise ConfigurationError("the schema-only app publishes nothing")


def _no_store() -> Store:
    raise ConfigurationError("the schema-only app has no store")


def openapi_document() -> dict[str, Any]:
    """The schema of the app; independent of the deployment's settings."""
    app = create_app(Settings(), _no_store, _NoPublisher(), catalogue=DEFAULT_CATALOGUE)
    return app.openapi()


def render(document: dict[str, Any]) -> bytes:
    """The file's bytes: indented, keys in the app's order, a final newline."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def write_openapi(path: Path = COMMITTED) -> None:
    """Write the current schema to ``path``."""
    path.write_bytes(render(openapi_document()))


def main(argv: list[str]) -> int:
    """``--check``: 1 if the committed file is stale; otherwise rewrite it."""
    if "--check" in argv:
        return 0 if COMMITTED.read_bytes() == render(openapi_document()) else 1
    write_openapi()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
