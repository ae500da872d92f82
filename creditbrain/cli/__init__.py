"""The ``creditbrain`` command line: one entry point, one module per command group.

Modules, in the order their commands are registered:

:mod:`.demo`
    ``demo`` (the whole system on a simulated city, one command) and ``check``
    (a subject's credit check from the store).
:mod:`.contract`
    ``validate`` and ``replay`` of JSON Lines files, ``schemas export``; also the
    deployment's :func:`~.contract.parse_context` and :func:`~.contract.read_lines`,
    which the other file commands share.
:mod:`.backfill`
    ``backfill``: bulk history through the running pipeline.
:mod:`.infra`
    ``broker ...`` (the embedded broker) and ``db ...`` (migrations, status, query).
:mod:`.deploy`
    ``topics create``, ``db render`` and ``sink``: what a production deployment
    needs beside the worker.
:mod:`.score`
    ``score FILE.jsonl``: final credit scores of a file, no broker, no store.
:mod:`.backtest`
    ``backtest FILE.jsonl``: every warning change the stream would publish for a
    file under candidate policies.
:mod:`.simulate`
    ``simulate file`` and ``simulate produce``: a simulated city's events.
:mod:`.models`
    ``models detect-series`` (anomalies of a CSV series) and ``models evaluate``.
:mod:`.dashboards`
    ``dashboards build | push | snapshot``.
:mod:`.run`
    ``worker`` and ``serve``: the long-running processes (assembled in
    :mod:`creditbrain.runtime`).
:mod:`.api`
    ``api``: the HTTP API alone.

Each module ends in ``register(app)``, which adds its commands to :data:`app`. A new
command group is one new module here with its ``register`` plus one line in
:data:`GROUPS`. Modules import their heavy dependencies (Faust, the store, FastAPI)
inside the commands, so ``creditbrain --help`` stays quick.

Only :class:`creditbrain.core.errors.CreditBrainError` is caught by :func:`main`: it
becomes one line on stderr and exit code 1; anything else is a bug and shows its
traceback.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from creditbrain.cli import (
    api,
    backfill,
    backtest,
    contract,
    dashboards,
    demo,
    deploy,
    infra,
    models,
    run,
    score,
    simulate,
)
from creditbrain.core.errors import CreditBrainError

__all__ = ["GROUPS", "app", "main"]

#: The command groups, registered in this order (``creditbrain --help`` lists them so).
GROUPS = (
    demo,
    contract,
    backfill,
    infra,
    deploy,
    score,
    backtest,
    simulate,
    models,
    dashboards,
    run,
    api,
)

app = typer.Typer(
    name="creditbrain",
    help="Real-time credit monitoring and early warning for a city's public credit platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group in GROUPS:
    group.register(app)


def main() -> None:
    """Console-script entry point."""
    err = Console(stderr=True)
    try:
        result = app(standalone_mode=False)
    except CreditBrainError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
