"""``creditbrain check SUBJECT``: a subject's credit check, read from the store.

The id is checked as the API checks it (:func:`creditbrain.api.subjects.candidate_ids`):
a credit code, a resident identity number (looked up by its pseudonym) or a
pseudonym; anything else is a usage error before the store is opened. Reading
never creates anything: a missing embedded store or database is a one-line error
naming the command that makes it. Times are shown in the city's zone (+08:00);
kinds, rules, levels and places by their Chinese names unless ``--lang en``
(:mod:`creditbrain.schemas.names`), and each reason with its record's date,
department and document number, read from the stored events.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from creditbrain.core.errors import StoreError, StoreLockedError
from creditbrain.core.eventtime import CST
from creditbrain.schemas.names import Lang, label
from creditbrain.settings import Settings, get_settings

if TYPE_CHECKING:  # the ClickHouse client loads when a check opens the store
    from creditbrain.infra.store import Store

#: Wide enough for a reason's department and document number when the output goes to a
#: file or a pipe (rich assumes 80 columns there and would cut them short).
UNBOUNDED_WIDTH = 160
console = Console(width=None if sys.stdout.isatty() else UNBOUNDED_WIDTH)

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
    lang: Annotated[
        Lang, typer.Option("--lang", help="Names of kinds, rules and places: zh or en.")
    ] = "zh",
) -> None:
    """A subject's score, grade, reasons, open warnings and recent history, from the store.

    Times are in the city's zone (+08:00); each reason shows its record's date,
    department and document number (decision, case, licence or commitment).
    """
    from creditbrain.api.subjects import candidate_ids
    from creditbrain.models.scorecard import load_scorecard
    from creditbrain.schemas.events import SubjectType

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
    state = found["state"]
    in_use = load_scorecard(settings.scorecard_file).in_use(
        str(state["sector"]), SubjectType(str(state["subject_type"]))
    )
    found["scorecard"] = in_use.model_dump()
    if as_json:
        typer.echo(json.dumps(found, default=lambda v: str(city_time(v)), ensure_ascii=False))
        return
    show(found, lang)


def open_store(settings: Settings) -> Store:
    """The store to read, or a one-line error; creates no directory and no database."""
    from creditbrain.infra.store import connect

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


#: Column titles, by language.
_TITLES: dict[str, dict[str, str]] = {
    "zh": {
        "score": "信用分", "grade": "等级", "reasons": "评分依据", "date": "日期",
        "kind": "类别", "department": "部门", "document": "文书号", "effect": "影响",
        "warnings": "预警", "level": "级别", "rule": "规则", "status": "状态",
        "since": "起始 (+08:00)", "changes": "近期评分变化", "as_of": "时间 (+08:00)",
        "cause": "原因", "scorecard": "评分卡", "default": "默认",
    },
    "en": {
        "score": "score", "grade": "grade", "reasons": "reasons", "date": "date",
        "kind": "kind", "department": "department", "document": "document no.",
        "effect": "effect", "warnings": "warnings", "level": "level", "rule": "rule",
        "status": "status", "since": "since (+08:00)", "changes": "recent score changes",
        "as_of": "as of (+08:00)", "cause": "cause", "scorecard": "scorecard",
        "default": "default",
    },
}  # fmt: skip

#: Payload fields that number a record's document, in the order looked for.
DOCUMENT_FIELDS = ("decision_no", "case_no", "licence_no", "commitment_no", "title")


def document_number(payload: str) -> str:
    """The document a record cites (decision, case, licence or commitment number), or ``""``.

    >>> document_number('{"decision_no": "日市监罚〔2026〕1号", "severity": "general"}')
    '日市监罚〔2026〕1号'
    >>> document_number('{"amount_cny": 5000, "months_overdue": 4}'), document_number("oops")
    ('', '')
    """
    try:
        fields = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(fields, dict):
        return ""
    return next((str(fields[name]) for name in DOCUMENT_FIELDS if fields.get(name)), "")


def scorecard_line(in_use: dict[str, Any] | None, default: str) -> str:
    """The scorecard that scored the subject: the default, then each override and its changes.

    >>> scorecard_line({"overrides": [], "changes": {}}, "default")
    'default'
    >>> scorecard_line({"overrides": ["sectors.work_safety"],
    ...                 "changes": {"publicity_days.penalty.general": 730}}, "default")
    'default + sectors.work_safety (publicity_days.penalty.general = 730)'
    """
    if not in_use or not in_use["overrides"]:
        return default
    changes = ", ".join(f"{name} = {value}" for name, value in in_use["changes"].items())
    return " + ".join([default, *in_use["overrides"]]) + f" ({changes})"


def city_date(value: object) -> str:
    """The calendar day of a store timestamp in the city's zone.

    >>> from datetime import UTC
    >>> city_date(datetime(2026, 3, 4, 17, 30, tzinfo=UTC)), city_date(None)
    ('2026-03-05', '')
    """
    moment = city_time(value)
    return moment.date().isoformat() if isinstance(moment, datetime) else ""


def show(found: dict[str, Any], lang: Lang = "zh") -> None:
    """Print a credit check, names in ``lang``."""
    t = _TITLES[lang]
    state = found["state"]
    console.print(
        f"[bold]{state['subject_id']}[/bold] {state['subject_name']}  "
        f"{label('subject_type', state['subject_type'], lang)} · "
        f"{label('sector', state['sector'], lang)} · {label('district', state['district'], lang)}"
    )
    console.print(
        f"{t['score']} [bold]{state['score']}[/bold]  "
        f"{t['grade']} [bold]{label('grade', state['grade'], lang)}[/bold]"
    )
    reasons = Table(title=t["reasons"])
    for column in ("date", "kind", "department", "document", "effect"):
        reasons.add_column(t[column], justify="right" if column == "effect" else "left")
    for reason in state["reasons"]:
        reasons.add_row(
            reason.get("date", ""),
            label("kind", reason["kind"], lang),
            reason.get("department", ""),
            reason.get("document", ""),
            f"{reason['effect']:+d}",
        )
    console.print(reasons)
    console.print(f"{t['scorecard']}: {scorecard_line(found.get('scorecard'), t['default'])}")
    warnings = Table(title=t["warnings"])
    for column in ("level", "rule", "status", "since"):
        warnings.add_column(t[column])
    for alert in found["alerts"]:
        warnings.add_row(
            label("level", alert["level"], lang),
            label("rule", alert["rule"], lang),
            label("status", alert["status"], lang),
            str(city_time(alert["first_event_at"])),
        )
    console.print(warnings)
    changes = Table(title=t["changes"])
    for column in ("as_of", "score", "grade", "cause"):
        changes.add_column(t[column])
    for change in found["history"]:
        changes.add_row(
            str(city_time(change["as_of"])),
            str(change["score"]),
            label("grade", change["grade"], lang),
            label("cause", change["cause"], lang),
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
    state["reasons"] = _with_records(store, subject, json.loads(str(state["reasons"])))
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


def _with_records(
    store: Store, subject: str, reasons: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each reason with its record's date (+08:00), department and document number."""
    if not reasons:
        return reasons
    rows = store.query_rows(
        "SELECT toString(event_id) AS event_id, occurred_at, source, payload FROM events FINAL "
        "WHERE subject_id = {s:String} AND toString(event_id) IN {ids:Array(String)}",
        {"s": subject, "ids": [str(reason["event_id"]) for reason in reasons]},
    )
    records = {str(row["event_id"]): row for row in rows}
    detailed = []
    for reason in reasons:
        row = records.get(str(reason["event_id"]))
        extra = {"date": "", "department": "", "document": ""}
        if row is not None:
            extra = {
                "date": city_date(row["occurred_at"]),
                "department": str(row["source"]),
                "document": document_number(str(row["payload"])),
            }
        detailed.append({**reason, **extra})
    return detailed


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("check")(check_command)
