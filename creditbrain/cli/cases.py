"""``creditbrain cases ...``: cases of warnings, deadlines and the month's inspection list.

``list`` and ``show`` read the store; ``act`` moves a case (acknowledge, investigate,
dispose with a disposition, reopen, note) as the named operator, stored as a
transition and audited like an API call; ``inspections`` draws and exports the
month's random inspection list of a sector (CSV, audited); ``deadline`` computes a
due time on the working-day calendar. While ``creditbrain serve`` holds the
embedded store, use its API (``/cases``) instead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, get_args

import typer

from creditbrain.alerts.cases import Action, Disposition
from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import CST, to_epoch_ms

cases_app = typer.Typer(help="Cases of warnings: list, show, act; inspection lists; deadlines.")

_ACTIONS = get_args(Action)
_DISPOSITIONS = get_args(Disposition)


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(CST).isoformat(timespec="minutes")
    return "" if value is None else str(value)


@cases_app.command("list")
def list_command(
    state: Annotated[
        str | None, typer.Option(help="new, acknowledged, investigating, disposed.")
    ] = None,
    team: Annotated[str | None, typer.Option(help="Owning team.")] = None,
    sector: Annotated[str | None, typer.Option()] = None,
    district: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only cases that missed a deadline.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Cases, most recently raised first."""
    from creditbrain.cli.check import open_store
    from creditbrain.infra.cases import CASE_COLUMNS
    from creditbrain.settings import get_settings

    store = open_store(get_settings())
    where: list[str] = ["1"]
    params: dict[str, object] = {"limit": limit}
    for column, value in (
        ("state", state),
        ("team", team),
        ("sector", sector),
        ("district", district),
    ):
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    if overdue:
        where.append("overdue_alert_id != ''")
    rows = store.query_rows(
        f"SELECT {', '.join(CASE_COLUMNS)} FROM cases FINAL WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments, values bound
        "ORDER BY raised_at DESC, case_id LIMIT {limit:UInt32}",
        params,
    )
    for row in rows:
        if as_json:
            typer.echo(
                json.dumps(
                    {k: _when(v) if isinstance(v, datetime) else v for k, v in row.items()},
                    ensure_ascii=False,
                    default=str,
                )
            )
        else:
            late = " OVERDUE" if row["overdue_alert_id"] else ""
            typer.echo(
                f"{row['case_id']}  {row['level']:<6} {row['state']:<13} {row['team']}  "
                f"{row['subject_id']} {row['subject_name']}  due {_when(row['dispose_due'])}{late}"
            )


@cases_app.command("show")
def show_command(case_id: Annotated[str, typer.Argument(help="The case id.")]) -> None:
    """A case and every transition it went through."""
    from creditbrain.cli.check import open_store
    from creditbrain.infra.cases import CaseRepository
    from creditbrain.settings import get_settings

    repo = CaseRepository(open_store(get_settings()))
    case = repo.get(case_id)
    if case is None:
        raise ConfigurationError(f"no case {case_id}")
    typer.echo(
        f"{case.case_id}  {case.level} {case.state} {case.disposition or ''}  team {case.team}\n"
        f"subject {case.subject_id} {case.subject_name} ({case.sector}, {case.district})\n"
        f"warnings {', '.join(f'{a.rule}/{a.level}/{a.status}' for a in case.alerts)}"
    )
    for step in repo.transitions(case_id):
        typer.echo(
            f"  {step['version']:>3} {_when(step['at'])} {step['event']:<13} "
            f"{step['from_state']}->{step['to_state']} {step['disposition']} "
            f"by {step['actor']} {step['note']} {' '.join(step['attachments'])}".rstrip()  # type: ignore[arg-type]
        )


@cases_app.command("act")
def act_command(
    case_id: Annotated[str, typer.Argument(help="The case id.")],
    action: Annotated[str, typer.Argument(help=f"One of {', '.join(_ACTIONS)}.")],
    actor: Annotated[str, typer.Option("--as", help="Who acts (recorded and audited).")],
    disposition: Annotated[
        str | None, typer.Option(help=f"With dispose: {', '.join(_DISPOSITIONS)}.")
    ] = None,
    note: Annotated[str, typer.Option(help="A note.")] = "",
    attach: Annotated[
        list[str] | None, typer.Option(help="An attachment reference (repeatable).")
    ] = None,
) -> None:
    """Move a case: acknowledge, investigate, dispose, reopen, or add a note."""
    from creditbrain.alerts.cases import act
    from creditbrain.api.auth import Principal
    from creditbrain.api.context import audit
    from creditbrain.cli.check import open_store
    from creditbrain.infra.cases import CaseRepository
    from creditbrain.runtime.cases import case_config, work_calendar
    from creditbrain.settings import get_settings

    if action not in _ACTIONS:
        raise typer.BadParameter(
            f"{action!r} is not one of {', '.join(_ACTIONS)}", param_hint="'ACTION'"
        )
    if disposition is not None and disposition not in _DISPOSITIONS:
        raise typer.BadParameter(
            f"{disposition!r} is not one of {', '.join(_DISPOSITIONS)}",
            param_hint="'--disposition'",
        )
    settings = get_settings()
    repo = CaseRepository(open_store(settings))
    case = repo.get(case_id)
    if case is None:
        raise ConfigurationError(f"no case {case_id}")
    step = act(
        case, action, at=to_epoch_ms(datetime.now(UTC)), actor=actor, role="admin",  # type: ignore[arg-type]
        config=case_config(settings), calendar=work_calendar(settings),
        disposition=disposition, note=note, attachments=tuple(attach or ()),  # type: ignore[arg-type]
    )  # fmt: skip
    repo.save(step)
    audit(
        repo.store, Principal(actor, "admin"), f"case_{action}", case.subject_id,
        {"case_id": case_id, "version": step.case.version, "disposition": disposition,
         "note": note, "via": "cli"},
    )  # fmt: skip
    typer.echo(f"{case_id} {case.state} -> {step.case.state}")


@cases_app.command("inspections")
def inspections_command(
    sector: Annotated[str, typer.Argument(help="The sector key, e.g. food_drug.")],
    month: Annotated[str, typer.Argument(help="YYYY-MM.")],
    seed: Annotated[
        int, typer.Option(help="Seed of the draw (record it: it re-derives the list).")
    ],
    actor: Annotated[str, typer.Option("--as", help="Who exports (audited).")],
    out: Annotated[Path | None, typer.Option(help="CSV file (default: stdout).")] = None,
) -> None:
    """The sector's random inspection list for the month, by grade, as CSV."""
    from creditbrain.alerts.inspection import Inspectable, draw, to_csv
    from creditbrain.api.auth import Principal
    from creditbrain.api.context import audit
    from creditbrain.cli.check import open_store
    from creditbrain.runtime.cases import inspection_config
    from creditbrain.settings import get_settings

    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise typer.BadParameter(f"{month!r} is not YYYY-MM", param_hint="'MONTH'") from None
    settings = get_settings()
    store = open_store(settings)
    rows = store.query_rows(
        "SELECT subject_id, subject_name, grade, district FROM entity_state FINAL "
        "WHERE sector = {sector:String}",
        {"sector": sector},
    )
    subjects = [
        Inspectable(
            str(r["subject_id"]), str(r["subject_name"]), str(r["grade"]), str(r["district"])
        )
        for r in rows
    ]
    rates = inspection_config(settings).rates_for(sector)
    picks = draw(subjects, sector, month, seed=seed, rates=rates)
    text = to_csv(picks, sector, month, seed)
    details = {"month": month, "seed": seed, "subjects": len(subjects), "drawn": len(picks)}
    audit(store, Principal(actor, "admin"), "inspection_list", sector, {**details, "via": "cli"})
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(picks)} of {len(subjects)} subjects -> {out}", err=True)


@cases_app.command("deadline")
def deadline_command(
    start: Annotated[str, typer.Argument(help="ISO time, e.g. 2026-02-13T15:00+08:00.")],
    days: Annotated[int | None, typer.Option(help="Working days.", min=1)] = None,
    hours: Annotated[float | None, typer.Option(help="Working hours.", min=0.01)] = None,
) -> None:
    """When a period of working days or hours from START ends (the working-day calendar)."""
    from creditbrain.core.workdays import cst
    from creditbrain.runtime.cases import work_calendar
    from creditbrain.settings import get_settings

    if (days is None) == (hours is None):
        raise typer.BadParameter("give --days or --hours")
    try:
        moment = datetime.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is not an ISO time", param_hint="'START'") from None
    at = to_epoch_ms(moment if moment.tzinfo else moment.replace(tzinfo=CST))
    calendar = work_calendar(get_settings())
    due = (
        calendar.add_working_days(at, days)
        if days is not None
        else calendar.add_working_hours(at, hours or 0)
    )
    typer.echo(cst(due))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.add_typer(cases_app, name="cases")
