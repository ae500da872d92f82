"""``creditbrain api``: the HTTP API alone.

The server module (FastAPI, uvicorn, the store client) is imported when the command
runs, so that the other commands start without paying for it.
"""

from __future__ import annotations

from typing import Annotated

import typer


def api_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    webhooks: Annotated[
        bool, typer.Option(help="Also deliver warnings to webhook subscribers.")
    ] = False,
) -> None:
    """Run the HTTP API alone (a ClickHouse server, CREDITBRAIN_CLICKHOUSE__DSN)."""
    from creditbrain.api.server import run_api

    run_api(host, port, webhooks)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("api")(api_command)
