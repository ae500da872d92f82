"""``creditbrain broker ...`` and ``creditbrain db ...``: the edges, by hand.

``broker up`` runs the embedded broker in the foreground with the contract's topics,
for working against a broker that outlives the worker. ``db migrate`` and
``db status`` manage the schema of the configured store (``CREDITBRAIN_CLICKHOUSE__*``).
Each command turns a :class:`~creditbrain.core.errors.CreditBrainError` into one line on
stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from creditbrain.core.errors import BrokerError, CreditBrainError
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.migrate import applied_migrations, available_migrations, migrate
from creditbrain.infra.store import connect
from creditbrain.schemas.contract import topic_specs
from creditbrain.settings import get_settings

console = Console()
err_console = Console(stderr=True)

broker_app = typer.Typer(
    help="The embedded Kafka-protocol broker (Tansu, memory only).", no_args_is_help=True
)
db_app = typer.Typer(help="The ClickHouse store: schema migrations.", no_args_is_help=True)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    try:
        yield
    except CreditBrainError as error:
        err_console.print(
            f"[red]error:[/red] {escape(str(error))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None


@broker_app.callback()
def _broker() -> None:
    """The embedded Kafka-protocol broker (Tansu, memory only)."""


@db_app.callback()
def _db() -> None:
    """The ClickHouse store: schema migrations."""


@broker_app.command("up")
def broker_up(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9092,
    host: Annotated[str, typer.Option(help="Address to listen on and advertise.")] = "127.0.0.1",
    log_dir: Annotated[
        Path | None,
        typer.Option(help="Directory for the broker's tansu.log (default: DATA_DIR/broker)."),
    ] = None,
    echo: Annotated[
        bool, typer.Option("--echo", help="Show the broker's own output here instead.")
    ] = False,
) -> None:
    """Run the embedded broker in the foreground with the contract's topics; Ctrl-C stops it.

    The broker keeps data in memory only: everything is gone once it stops.
    """
    settings = get_settings()
    # One node: the embedded broker cannot hold more than one replica.
    specs = topic_specs(settings.kafka.topic_prefix, settings.kafka.partitions, 1)
    with _one_line_errors():
        broker = EmbeddedBroker(
            port=port, host=host, log_dir=log_dir or settings.data_dir / "broker", echo=echo
        )
        with broker:
            created = ensure_topics(broker.bootstrap, specs)
            console.print(
                f"broker ready on [bold]{broker.bootstrap}[/bold] "
                f"({len(specs)} topics, {len(created)} created); Ctrl-C stops it",
                highlight=False,
            )
            try:
                code = broker.wait()
            except KeyboardInterrupt:
                console.print("stopping the broker")
                return
        raise BrokerError(f"the embedded broker exited on its own with code {code}")


@db_app.command("migrate")
def db_migrate() -> None:
    """Create the database if missing and apply the pending migrations to the store."""
    settings = get_settings()
    database = settings.clickhouse.database
    with _one_line_errors(), connect(settings.clickhouse_dsn, database) as store:
        applied = migrate(store, cluster=settings.clickhouse.cluster)
    if not applied:
        console.print(f"{database}: already up to date")
    for name in applied:
        console.print(f"{database}: applied {name}")


@db_app.command("status")
def db_status() -> None:
    """List the migrations: when each was applied, or that it is pending."""
    settings = get_settings()
    database = settings.clickhouse.database
    with _one_line_errors(), connect(settings.clickhouse_dsn, database) as store:
        applied = {migration.name: migration for migration in applied_migrations(store)}
    table = Table(title=f"migrations of {database}")
    table.add_column("migration")
    table.add_column("applied at (UTC)")
    table.add_column("checksum")
    for migration in available_migrations():
        done = applied.pop(migration.name, None)
        when = done.applied_at.strftime("%Y-%m-%d %H:%M:%S") if done else "pending"
        table.add_row(migration.name, when, migration.checksum[:12])
    for name, done in applied.items():
        when = done.applied_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(name, when, f"{done.checksum[:12]} (not in this version)")
    console.print(table)


@db_app.command("query")
def db_query(
    sql: Annotated[str, typer.Argument(help="One read-only SELECT.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
) -> None:
    """Run a read-only query against the store (not while `creditbrain serve` holds it)."""
    import json

    settings = get_settings()
    with (
        _one_line_errors(),
        connect(settings.clickhouse_dsn, settings.clickhouse.database) as store,
    ):
        store.bind_database()
        rows = store.query_rows(sql, settings={"readonly": 1})
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str, ensure_ascii=False))
        return
    table = Table()
    for column in rows[0] if rows else ():
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.add_typer(broker_app, name="broker", help="The embedded Kafka-protocol broker.")
    app.add_typer(db_app, name="db", help="The ClickHouse store.")
