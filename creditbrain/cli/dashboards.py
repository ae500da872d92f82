"""``creditbrain dashboards``: build the Grafana JSON, push it, or render an offline snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from creditbrain.core.errors import StoreError
from creditbrain.dashboards.catalogue import DATASOURCE_UID, build
from creditbrain.dashboards.names import LANGS, Lang
from creditbrain.dashboards.push import push
from creditbrain.dashboards.registry import set_registry
from creditbrain.dashboards.snapshot import render_snapshot
from creditbrain.infra.store import connect
from creditbrain.settings import get_settings

dashboards_app = typer.Typer(
    help="The Grafana dashboards: build, push, offline snapshot.", no_args_is_help=True
)

_DATASOURCE = typer.Option(help="Uid of the Grafana ClickHouse datasource the panels query.")
_LANG = typer.Option("--lang", help="Language of titles, headers and names: zh or en.")


def _lang(value: str) -> Lang:
    if value not in LANGS:
        raise typer.BadParameter(f"--lang must be one of {', '.join(LANGS)}, not {value!r}")
    return value


@dashboards_app.command("build")
def build_command(
    out: Annotated[Path, typer.Option(help="Directory of the provisioned dashboards.")] = Path(
        "infra/grafana/dashboards"
    ),
    datasource_uid: Annotated[str, _DATASOURCE] = DATASOURCE_UID,
    lang: Annotated[str, _LANG] = "zh",
) -> None:
    """Write every dashboard's JSON (one folder directory per audience)."""
    for path in build(out, datasource_uid, _lang(lang)):
        typer.echo(str(path))


@dashboards_app.command("push")
def push_command(
    url: Annotated[str, typer.Option(help="Grafana's base URL, e.g. http://localhost:3000.")],
    token: Annotated[
        str,
        typer.Option(help="A service-account token with editor rights.", envvar="GRAFANA_TOKEN"),
    ],
    datasource_uid: Annotated[str, _DATASOURCE] = DATASOURCE_UID,
    lang: Annotated[str, _LANG] = "zh",
) -> None:
    """Create the folders if missing and save every dashboard (same uid, overwrite)."""
    pushed = push(url, token, datasource_uid, lang=_lang(lang))
    created = ", ".join(pushed.folders_created) or "none"
    typer.echo(f"pushed {len(pushed.dashboards)} dashboards; folders created: {created}")


@dashboards_app.command("snapshot")
def snapshot_command(
    out: Annotated[Path, typer.Option(help="Directory of the HTML file.")],
    dsn: Annotated[str | None, typer.Option(help="ClickHouse DSN (default: settings).")] = None,
    database: Annotated[str | None, typer.Option(help="Database (default: settings).")] = None,
    now: Annotated[
        datetime | None,
        typer.Option(help="As of this UTC time (default: the data's end in event time)."),
    ] = None,
    lang: Annotated[str, _LANG] = "zh",
) -> None:
    """Render every dashboard from the store as offline HTML pages; prints the entry page."""
    settings = get_settings()
    as_of = now.replace(tzinfo=UTC) if now else None
    with connect(dsn or settings.clickhouse_dsn, database or settings.clickhouse.database) as store:
        if not store.database_exists():
            raise StoreError(
                f"database {store.database} does not exist: run `creditbrain db migrate`"
            )
        typer.echo(str(render_snapshot(store, out, as_of, _lang(lang))))


@dashboards_app.command("registry")
def registry_command(
    counts: Annotated[
        list[str], typer.Argument(help="TYPE=COUNT pairs, e.g. enterprise=412000 person=2980000.")
    ],
    source: Annotated[str, typer.Option(help="Where the counts come from.")] = "deployment",
    dsn: Annotated[str | None, typer.Option(help="ClickHouse DSN (default: settings).")] = None,
    database: Annotated[str | None, typer.Option(help="Database (default: settings).")] = None,
) -> None:
    """Set the registered subjects per type that the coverage targets divide by."""
    parsed: dict[str, int] = {}
    for pair in counts:
        kind, _, count = pair.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"{pair!r} is not TYPE=COUNT")
        parsed[kind] = int(count)
    settings = get_settings()
    with connect(dsn or settings.clickhouse_dsn, database or settings.clickhouse.database) as store:
        try:
            set_registry(store, parsed, source)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
    typer.echo(", ".join(f"{kind} {count:,}" for kind, count in parsed.items()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.add_typer(dashboards_app, name="dashboards")
