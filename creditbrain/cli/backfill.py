"""``creditbrain backfill``: bulk history through the running pipeline, with its throughput.

History goes the same way as live events (validation, state, scores, warnings,
store), so the state a worker holds afterwards is the one it needs for the live
stream. The command produces a JSON Lines file (or a simulated city) to the input
topics as fast as the broker takes it, then follows the worker's and the sink's
consumer groups until both have caught up, and reports both rates.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from creditbrain.cli.contract import parse_context, read_lines
from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.contract import input_topics
from creditbrain.settings import get_settings

console = Console(stderr=True)


def backfill_command(
    file: Annotated[
        Path | None, typer.Argument(help="JSON Lines history; omit with --simulate.")
    ] = None,
    simulate: Annotated[
        float | None, typer.Option(help="Backfill a simulated city of this scale instead.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated city.")] = 2025,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 3600,
) -> None:
    """Load bulk history through a running worker (`creditbrain serve` or `worker`)."""
    from creditbrain.infra.produce import make_producer, route_line

    settings = get_settings()
    bootstrap = settings.kafka.bootstrap
    if not bootstrap:
        raise ConfigurationError(
            "no broker: set CREDITBRAIN_KAFKA__BOOTSTRAP to the broker the worker reads"
        )
    if file is not None and simulate is not None:
        raise ConfigurationError("give either a FILE or --simulate SCALE")
    prefix, ctx = settings.kafka.topic_prefix, parse_context(settings)
    if file is not None:
        lines = read_lines(file)
        messages = [
            route_line(raw, ctx, prefix, settings.max_message_bytes, (file.name, n))
            for n, raw in enumerate(lines, start=1)
        ]
    elif simulate is not None:
        from creditbrain.schemas.contract import topic_name
        from creditbrain.simulator import CityConfig
        from creditbrain.simulator.simulation import Simulator

        sim = Simulator(CityConfig.scaled(simulate, seed=seed), pseudonym_key=ctx.pseudonym_key)
        messages = [(topic_name(prefix, e.topic_suffix), e.key, e.value, []) for e in sim.events()]
    else:
        raise ConfigurationError("give either a FILE or --simulate SCALE")
    producer = make_producer(bootstrap)
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("{task.description}", *columns, console=console) as progress:
        sending = progress.add_task("producing", total=len(messages))
        began = time.monotonic()
        for n, (topic, key, value, headers) in enumerate(messages, start=1):
            producer.send(topic, key=key, value=value, headers=headers)
            if n % 2000 == 0:
                progress.update(sending, completed=n)
        producer.flush()
        producer.close()
        progress.update(sending, completed=len(messages))
        produced_in = time.monotonic() - began
        processing = progress.add_task("processed by the worker", total=len(messages))
        from creditbrain.infra.lag import group_lag

        topics = input_topics(prefix)
        deadline = time.monotonic() + timeout
        while lag := group_lag(bootstrap, settings.stream.app_id, topics, settings.kafka.tansu):
            progress.update(processing, completed=max(0, len(messages) - lag))
            if time.monotonic() > deadline:
                raise ConfigurationError(f"the worker still has {lag:,} messages to go")
            time.sleep(0.5)
        progress.update(processing, completed=len(messages))
    total = time.monotonic() - began
    typer.echo(
        f"{len(messages):,} messages produced in {produced_in:.1f} s "
        f"({len(messages) / max(produced_in, 1e-6):,.0f}/s); processed end to end in "
        f"{total:.1f} s ({len(messages) / max(total, 1e-6):,.0f} events/s)"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("backfill")(backfill_command)
