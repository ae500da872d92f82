"""Commands a deployment on Apache Kafka and a ClickHouse server needs beside the worker.

``topics create`` lays out every topic the pipeline reads or writes before the
first worker starts; ``sink`` runs the ClickHouse sink alone, so stream workers
(``worker --no-sink``) and sinks scale apart; ``db render`` prints the schema's
DDL for one server or a cluster without touching any store.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from creditbrain.cli.infra import db_app
from creditbrain.core.errors import ConfigurationError, StoreError
from creditbrain.settings import Settings, get_settings

if TYPE_CHECKING:
    from creditbrain.schemas.contract import TopicSpec

console = Console()
err_console = Console(stderr=True)

topics_app = typer.Typer(
    help="The pipeline's Kafka topics on the configured broker.", no_args_is_help=True
)


@topics_app.callback()
def _topics() -> None:
    """The pipeline's Kafka topics on the configured broker."""


def pipeline_topics(prefix: str, partitions: int, replication_factor: int) -> list[TopicSpec]:
    """The contract's topics, then the worker's outputs that only the sink reads.

    Accepted events, the alert log, the shadow warnings and the series' scored days
    travel from the worker to the sink on topics the contract does not name; they get
    the inputs' partitions, so sinks scale like workers. Faust creates its own internal topics
    (table changelogs) itself.

    >>> [spec.name for spec in pipeline_topics("credit", 12, 3)][-3:]
    ['credit.alerts.log', 'credit.alerts.shadow', 'credit.metric.days']
    """
    from creditbrain.schemas.contract import TopicSpec, topic_name, topic_specs
    from creditbrain.streams.messages import ACCEPTED, ALERTS_LOG, METRIC_DAYS, SHADOW_ALERTS

    specs: list[TopicSpec] = topic_specs(prefix, partitions, replication_factor)
    for suffix in (ACCEPTED, ALERTS_LOG, SHADOW_ALERTS, METRIC_DAYS):
        specs.append(TopicSpec(topic_name(prefix, suffix), partitions, replication_factor))
    return specs


@topics_app.command("create")
def topics_create(
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the broker to answer.", min=0)
    ] = 60.0,
) -> None:
    """Create the missing topics with the configured partitions and replication factor.

    Existing topics are left as they are. Policies are compacted (one partition);
    the rest keep the broker's retention.
    """
    from creditbrain.infra.broker import ensure_topics, wait_until_ready

    settings = get_settings()
    bootstrap = settings.kafka.bootstrap
    if not bootstrap:
        raise ConfigurationError("no broker configured: set CREDITBRAIN_KAFKA__BOOTSTRAP")
    kafka = settings.kafka
    specs = pipeline_topics(kafka.topic_prefix, kafka.partitions, kafka.replication_factor)
    wait_until_ready(bootstrap, wait)
    created = set(ensure_topics(bootstrap, specs, timeout=max(wait, 1.0)))
    for spec in specs:
        state = "created" if spec.name in created else "exists"
        layout = f"{spec.partitions} partitions x{spec.replication_factor}"
        compacted = ", compacted" if spec.compacted else ""
        console.print(f"{spec.name}: {state} ({layout}{compacted})", highlight=False)


def db_render_command(
    cluster: Annotated[
        str | None,
        typer.Option(help="ClickHouse cluster name (default: CREDITBRAIN_CLICKHOUSE__CLUSTER)."),
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(help="Database name (default: CREDITBRAIN_CLICKHOUSE__DATABASE)."),
    ] = None,
    access: Annotated[
        bool, typer.Option(help="Also the dashboards' read-only role and row policies.")
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="A supervisor's scope, name:sector,...:district,... (with --access)."),
    ] = None,
) -> None:
    """Print the schema's DDL, as `db migrate` would run it on an empty store; no store needed."""
    from creditbrain.dashboards.access import Scope, access_statements
    from creditbrain.infra.migrate import render_all

    settings = get_settings()
    name, on = database or settings.clickhouse.database, cluster or settings.clickhouse.cluster
    statements = render_all(name, on)
    if access:
        try:
            scopes = [Scope.parse(text) for text in scope or ()]
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
        statements += access_statements(name, on, scopes)
    typer.echo("".join(f"{statement};\n\n" for statement in statements), nl=False)


def sink_command(
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "warn",
) -> None:
    """Run the ClickHouse sink alone: store the workers' outputs (a ClickHouse server).

    The schema must be up to date (`creditbrain db migrate`); sinks of one deployment
    share the output partitions through their consumer group.
    """
    import logging

    logging.basicConfig(level=_LOG_LEVELS.get(loglevel, logging.WARNING))
    settings = get_settings()
    if not settings.kafka.bootstrap:
        raise ConfigurationError("no broker configured: set CREDITBRAIN_KAFKA__BOOTSTRAP")
    asyncio.run(_run_sink(settings, settings.kafka.bootstrap))


_LOG_LEVELS = {"crit": 50, "error": 40, "warn": 30, "info": 20, "debug": 10}


async def _run_sink(settings: Settings, bootstrap: str) -> None:
    from prometheus_client import CollectorRegistry

    from creditbrain.infra.broker import wait_until_ready
    from creditbrain.infra.migrate import applied_migrations, available_migrations
    from creditbrain.infra.store import connect
    from creditbrain.runtime.metrics import metrics_server, sink_health
    from creditbrain.streams.metrics import SinkMetrics
    from creditbrain.streams.recorder import MetricsRecorder
    from creditbrain.streams.sink import ClickHouseSink

    wait_until_ready(bootstrap, 60.0)
    with connect(settings.clickhouse_dsn, settings.clickhouse.database) as store:
        applied = {migration.name for migration in applied_migrations(store)}
        pending = [m.name for m in available_migrations() if m.name not in applied]
        if pending:
            raise StoreError(
                f"{settings.clickhouse.database} lacks migrations {', '.join(pending)}: "
                "run `creditbrain db migrate` first"
            )
        store.bind_database()

        def write(table: str, rows: Any, columns: Any) -> None:
            store.client.insert(table, rows, column_names=list(columns), database=store.database)

        sink = ClickHouseSink(
            bootstrap, settings.kafka.topic_prefix, write, f"{settings.stream.app_id}-sink"
        )
        registry = CollectorRegistry()
        sink.metrics = SinkMetrics(registry, sink.stats)
        sink.recorder = MetricsRecorder(registry, write)
        server = metrics_server(settings, registry, sink_health(sink.stats), "sink")
        if server is not None:
            await server.start()
            err_console.print(f"metrics on {server.host}:{server.port}")
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, sink.stop)
        err_console.print(f"sink running for {settings.kafka.topic_prefix}.*; Ctrl-C stops it")
        try:
            await sink.run()
        finally:
            if server is not None:
                await server.stop()
    err_console.print(
        f"sink stopped: {sum(sink.stats.rows.values())} rows in {sink.stats.batches} batches"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    db_app.command("render")(db_render_command)
    app.add_typer(topics_app, name="topics")
    app.command("sink")(sink_command)
