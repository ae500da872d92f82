"""``creditbrain worker`` and ``creditbrain serve``: the long-running processes."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated

import typer
from rich.console import Console

from creditbrain.core.errors import ConfigurationError
from creditbrain.settings import Settings, get_settings

console = Console(stderr=True)


def ensure_broker(settings: Settings, stack: ExitStack) -> tuple[str, bool]:
    """The configured broker, or an embedded one started for this process."""
    from creditbrain.infra.broker import EmbeddedBroker, ensure_topics, wait_until_ready
    from creditbrain.schemas.contract import topic_specs

    specs = topic_specs(
        settings.kafka.topic_prefix, settings.kafka.partitions, settings.kafka.replication_factor
    )
    if settings.kafka.bootstrap:
        wait_until_ready(settings.kafka.bootstrap, 30.0)
        ensure_topics(settings.kafka.bootstrap, specs)
        return settings.kafka.bootstrap, settings.kafka.tansu
    broker = stack.enter_context(EmbeddedBroker(log_dir=settings.data_dir / "broker"))
    ensure_topics(broker.bootstrap, specs)
    console.print(f"embedded broker on [bold]{broker.bootstrap}[/bold] (memory only)")
    return broker.bootstrap, True


def worker_command(
    sink: Annotated[
        bool, typer.Option(help="Also run the ClickHouse sink in this process.")
    ] = True,
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "warn",
) -> None:
    """Run a stream worker against the configured broker (CREDITBRAIN_KAFKA__BOOTSTRAP)."""
    from creditbrain.runtime.worker import build_host

    settings = get_settings()
    if not settings.kafka.bootstrap:
        raise ConfigurationError(
            "no broker configured: set CREDITBRAIN_KAFKA__BOOTSTRAP, or use `creditbrain serve` "
            "for the embedded single-process mode"
        )
    with ExitStack() as stack:
        bootstrap, embedded = ensure_broker(settings, stack)
        build_host(settings, bootstrap, embedded_broker=embedded, with_sink=sink).run(loglevel)


def serve_command(
    loglevel: Annotated[str, typer.Option(help="crit, error, warn, info or debug.")] = "warn",
) -> None:
    """Embedded mode in one process: broker (unless configured), worker, sinks, store."""
    from creditbrain.runtime.worker import build_host

    settings = get_settings()
    with ExitStack() as stack:
        bootstrap, embedded = ensure_broker(settings, stack)
        host = build_host(settings, bootstrap, embedded, with_sink=True)
        console.print("worker starting; Ctrl-C stops it")
        host.run(loglevel)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("worker")(worker_command)
    app.command("serve")(serve_command)
