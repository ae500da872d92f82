"""The ``creditbrain`` command line: one entry point, one module per command group.

Modules, in the order their commands are registered:

:mod:`.demo`
    ``demo``: the whole system on a simulated city, one command.
:mod:`.check`
    ``check``: a subject's credit check from the store.
:mod:`.cases`
    ``cases list | show | act | inspections | deadline``: cases of warnings, the
    month's inspection list, due times on the working-day calendar.
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
:mod:`.backtest`, :mod:`.stored_history`
    ``backtest FILE.jsonl``: every warning change the stream would publish for a
    file under candidate policies; ``--from-store`` replays the stored events and
    ``--compare`` sets a candidate against the policy in force.
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

:mod:`.failures` (how every error ends: one line, exit code 2 or 1) and
:mod:`.progress` (progress bars of the file commands) serve them all.

Each module ends in ``register(app)``, which adds its commands to :data:`app`. A new
command group is one new module here with its ``register`` plus one line in
:data:`GROUPS`. Modules import their heavy dependencies (Faust, the store, FastAPI)
inside the commands, so ``creditbrain --help`` stays quick.

:func:`main` turns every user error into one line on stderr (:mod:`.failures`):
exit code 2 for usage errors, 1 for failed work; ``--debug`` (or
``CREDITBRAIN_DEBUG=1``) shows the traceback instead; a defect keeps its traceback.
``--version`` prints the installed version; ``--install-completion`` /
``--show-completion`` set up shell completion.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from creditbrain.cli import (
    api,
    backfill,
    backtest,
    cases,
    check,
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
from creditbrain.cli.failures import DEBUG, USER_ERRORS, report

__all__ = ["GROUPS", "app", "main"]

#: The command groups, registered in this order (``creditbrain --help`` lists them so).
GROUPS = (
    demo,
    check,
    cases,
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
    # Not the whole help for no arguments: a "Missing command" usage error, one line.
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def installed_version() -> str:
    """The installed distribution's version (``unknown`` when run from a bare checkout)."""
    try:
        return version("creditbrain")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"creditbrain {installed_version()}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show tracebacks instead of one-line errors (or CREDITBRAIN_DEBUG=1)."
        ),
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Real-time credit monitoring and early warning for a city's public credit platform."""
    DEBUG["on"] = debug


for group in GROUPS:
    group.register(app)


def main() -> None:
    """Console-script entry point: exit code 0, 1 (failed work) or 2 (usage error)."""
    try:
        result = app(standalone_mode=False)
    # User errors end as one line; defects keep their traceback (failures.py).
    except USER_ERRORS as error:
        sys.exit(report(error))
    sys.exit(result if isinstance(result, int) else 0)
