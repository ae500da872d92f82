"""``creditbrain check SUBJECT``: a subject's credit check, read from the store.

The id is checked as the API checks it (:func:`creditbrain.api.subjects.candidate_ids`):
a credit code, a resident identity number (looked up by its pseudonym) or a
pseudonym; anything else is a usage error before the store is opened. Reading
never creates anything: a missing embedded store or database is a one-line error
naming the command that makes it. Times are shown in the city's zone (+08:00).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from creditbrain.core.errors import StoreError, StoreLockedError
from creditbrain.core.eventtime import CST
from creditbrain.infra.store import Store, connect
from creditbrain.settings import Settings, get_settings

console = Console()

#: What to run when there is nothing to read yet.
MAKES_A_STORE = (
    "`creditbrain demo` fills one with a simulated city; `creditbrain serve` with the live "
    "stream; `creditbrain db migrate` creates an empty one"
)


def city_time(value: object) -> object:
    """A store timestamp in the city's zone; other values unchanged.

    >>> from datetime import UTC
    >>> str(city_time(datetime(2026, 3, 4, 1, 30, tzinfo=UTC)))
    '2026-03-04 09:30:00+08:00'
    >>> city_time(7)
    7
    """
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(CST)
    return value


def check_command(
    subject_id: Annotated[str, typer.Argument(help="Credit code, resident id or pseudonym.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    history: Annotated[int, typer.Option(help="Score changes to show.", min=0, max=1000)] = 10,
) -> None:
    """A subject's score, grade, reasons, open warnings and recent history, from the store."""
    from creditbrain.api.subjects import candidate_ids

    settings = get_settings()
    ids = candidate_ids(
        subject_id,
        settings.pseudonym_key.get_secret_value().encode(),
        settings.credit_code_allow_list,
    )
    if not ids:
        raise typer.BadParameter(
            f"{subject_id!r} is not a valid credit code, resident identity number or pseudonym",
            param_hint="'SUBJECT_ID'",
        )
    store = open_store(settings)
    found = None
    for subject in ids:
        found = _lookup(store, subject, history)
        if found is not None:
            break
    if found is None:
        typer.echo(f"error: no record of {ids[0]}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(found, default=lambda v: str(city_time(v)), ensure_ascii=False))
        return
    _show(found)


def open_store(settings: Settings) -> Store:
    """The store to read, or a one-line error; creates no directory and no database."""
    dsn = settings.clickhouse_dsn
    url = urlsplit(dsn)
    if url.scheme == "chdb" and not Path(url.path).is_dir():
        raise StoreError(f"no store at {url.path}: {MAKES_A_STORE}")
    try:
        store = connect(dsn, settings.clickhouse.database)
    except StoreLockedError as error:
        raise StoreLockedError(
            f"{error}; while `creditbrain serve` runs, ask its API: GET /subjects/{{id}}"
        ) from None
    if not store.database_exists():
        where = url.path if url.scheme == "chdb" else "the configured ClickHouse server"
        raise StoreError(
            f"database {settings.clickhouse.database} does not exist in {where}: {MAKES_A_STORE}"
        )
    store.bind_database()
    return store


def _show(found: dict[str, Any]) -> None:
    state = found["state"]
    console.print(
        f"[bold]{state['subject_id']}[/bold] {state['subject_name']}  "
        f"{state['subject_type']} · {state['sector']} · {state['district']}"
    )
    console.print(f"score [bold]{state['score']}[/bold]  grade [bold]{state['grade']}[/bold]")
    reasons = Table(title="reasons")
    for column in ("event_id", "kind", "effect"):
        reasons.add_column(column)
    for reason in state["reasons"]:
        reasons.add_row(reason["event_id"], reason["kind"], str(reason["effect"]))
    console.print(reasons)
    warnings = Table(title="warnings")
    for column in ("level", "rule", "status", "since (+08:00)"):
        warnings.add_column(column)
    for alert in found["alerts"]:
        warnings.add_row(
            alert["level"], alert["rule"], alert["status"], str(city_time(alert["first_event_at"]))
        )
    console.print(warnings)
    changes = Table(title="recent score changes")
    for column in ("as of (+08:00)", "score", "grade", "cause"):
        changes.add_column(column)
    for change in found["history"]:
        changes.add_row(
            str(city_time(change["as_of"])), str(change["score"]), change["grade"], change["cause"]
        )
    console.print(changes)


def _lookup(store: Store, subject: str, history: int) -> dict[str, Any] | None:
    params = {"s": subject}
    states = store.query_rows(
        "SELECT * FROM entity_state FINAL WHERE subject_id = {s:String}", params
    )
    if not states:
        return None
    state = dict(states[0])
    state["reasons"] = json.loads(str(state["reasons"]))
    alerts = store.query_rows(
        "SELECT alert_id, level, rule, status, first_event_at FROM alerts FINAL "
        "WHERE subject_id = {s:String} ORDER BY event_time DESC",
        params,
    )
    changes = store.query_rows(
        "SELECT as_of, score, grade, cause FROM scores FINAL WHERE subject_id = {s:String} "
        "ORDER BY as_of DESC LIMIT {n:UInt32}",
        {**params, "n": history},
    )
    return {"state": state, "alerts": alerts, "history": changes}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("check")(check_command)
