"""``creditbrain simulate``: a simulated city's credit events, to a file or onto Kafka.

``simulate file city.jsonl`` writes the messages and ``city.truth.json`` beside them;
``simulate produce`` sends them to the input topics at a target rate. Both print
what was generated: messages by kind, the deliberately bad ones by reason, the
stories planted for the early-warning models, and the throughput.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from creditbrain.core.errors import ConfigurationError
from creditbrain.settings import get_settings
from creditbrain.simulator import CityConfig, Summary, produce, write_jsonl
from creditbrain.simulator import Progress as SimProgress
from creditbrain.simulator.output import ProgressCallback

console = Console(stderr=True)
simulate_app = typer.Typer(
    help="Simulate a city's credit events, with ground truth for the early-warning models.",
    no_args_is_help=True,
)

Seed = Annotated[int, typer.Option(help="Seed: the same seed and options give the same bytes.")]
Scale = Annotated[
    float,
    typer.Option("--subjects-scale", help="Multiply the default population (52,300 subjects)."),
]
Count = Annotated[int | None, typer.Option(help="Override this type's count.", min=0)]
Days = Annotated[int, typer.Option(help="Event-time span in days.", min=1)]
Start = Annotated[str, typer.Option(help="First day (UTC+08:00), YYYY-MM-DD.")]
Activity = Annotated[float, typer.Option(help="Multiplier on every background event rate.")]
ErrorRate = Annotated[float, typer.Option(help="Share of deliberately bad messages.")]
Shuffle = Annotated[
    int, typer.Option(help="Shuffle within this many messages (0: event-time order).", min=0)
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")]


def _config(**values: Any) -> CityConfig:
    """A :class:`CityConfig` from command-line values; ``None`` keeps the default."""
    scale = values.pop("scale")
    chosen = {name: value for name, value in values.items() if value is not None}
    try:
        return CityConfig.scaled(scale, **chosen)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid simulation options: {problems}") from error


@contextmanager
def _progress_bar(quiet: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar over the event-time span, fed by the simulator's callback."""
    if quiet:
        yield None
        return
    columns = (
        TextColumn("[bold]simulating[/bold] {task.fields[day]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[messages]:,} messages"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulate", total=1.0, day="", messages=0)

        def update(progress: SimProgress) -> None:
            day = progress.event_time.date().isoformat()
            bar.update(task, completed=progress.fraction, day=day, messages=progress.messages)

        yield update


def _print_summary(summary: Summary, as_json: bool) -> None:
    record = {
        "messages": summary.messages,
        "valid": summary.valid,
        "erroneous": summary.erroneous,
        "valid_by_kind": summary.valid_by_kind,
        "erroneous_by_reason": summary.erroneous_by_reason,
        "subjects": summary.subjects,
        "deteriorating": summary.deteriorating,
        "recovering": summary.recovering,
        "with_red_record": summary.with_red_record,
        "episodes": summary.episodes,
        "seconds": round(summary.seconds, 3),
        "messages_per_second": round(summary.rate),
        "by_topic": summary.by_topic,
        "path": str(summary.path) if summary.path else None,
        "truth_path": str(summary.truth_path) if summary.truth_path else None,
    }
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    out = Console()
    table = Table(title=f"{summary.messages:,} messages in {summary.seconds:.1f} s", min_width=50)
    table.add_column("what")
    table.add_column("count", justify="right")
    for kind, count in sorted(summary.valid_by_kind.items(), key=lambda item: -item[1]):
        table.add_row(kind, f"{count:,}")
    table.add_section()
    for reason, count in sorted(summary.erroneous_by_reason.items()):
        table.add_row(f"[red]bad: {reason}[/red]", f"{count:,}")
    table.add_row("[red]erroneous messages[/red]", f"{summary.erroneous:,}")
    table.add_section()
    table.add_row("subjects", f"{summary.subjects:,}")
    table.add_row("deteriorating (stories)", f"{summary.deteriorating:,}")
    table.add_row("recovering (stories)", f"{summary.recovering:,}")
    table.add_row("subjects with a red record", f"{summary.with_red_record:,}")
    table.add_row("systemic episodes", f"{summary.episodes:,}")
    table.add_row("throughput (messages/s)", f"{summary.rate:,.0f}")
    out.print(table)
    for topic, count in sorted(summary.by_topic.items()):
        out.print(f"  {topic}: {count:,}")
    if summary.path:
        out.print(f"events: {summary.path}")
    if summary.truth_path:
        out.print(f"ground truth: {summary.truth_path}")


@simulate_app.command("file")
def file_command(
    out: Annotated[Path, typer.Argument(help="JSON Lines file to write.")],
    seed: Seed = 2025,
    scale: Scale = 1.0,
    enterprises: Count = None,
    non_enterprises: Count = None,
    individual_businesses: Count = None,
    government_bodies: Count = None,
    persons: Count = None,
    days: Days = 365,
    start: Start = "2025-01-01",
    activity: Activity = 1.0,
    error_rate: ErrorRate = 0.003,
    shuffle_window: Shuffle = 0,
    stories: Annotated[
        str, typer.Option(help="Story mix: classic (one script) or varied (many declines).")
    ] = "classic",
    truth: Annotated[
        Path | None, typer.Option(help="Ground-truth file (default: OUT with .truth.json).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: AsJson = False,
) -> None:
    """Write a simulated city's events to a JSON Lines file, and its ground truth beside it."""
    config = _config(
        seed=seed, scale=scale, enterprises=enterprises, non_enterprises=non_enterprises,
        individual_businesses=individual_businesses, government_bodies=government_bodies,
        persons=persons, days=days, start=start, activity=activity,
        error_rate=error_rate, shuffle_window=shuffle_window, story_mix=stories,
    )  # fmt: skip
    key = get_settings().pseudonym_key.get_secret_value().encode()
    with _progress_bar(quiet or as_json) as callback:
        summary = write_jsonl(out, config, truth_path=truth, pseudonym_key=key, progress=callback)
    _print_summary(summary, as_json)


@simulate_app.command("produce")
def produce_command(
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (default: from settings).")
    ] = None,
    prefix: Annotated[str | None, typer.Option(help="Topic prefix (default: settings).")] = None,
    rate: Annotated[float, typer.Option(help="Messages per second; 0 = as fast as possible.")] = 0,
    create_topics: Annotated[
        bool, typer.Option(help="Create the contract's topics if missing.")
    ] = True,
    seed: Seed = 2025,
    scale: Scale = 1.0,
    enterprises: Count = None,
    non_enterprises: Count = None,
    individual_businesses: Count = None,
    government_bodies: Count = None,
    persons: Count = None,
    days: Days = 365,
    start: Start = "2025-01-01",
    activity: Activity = 1.0,
    error_rate: ErrorRate = 0.003,
    shuffle_window: Shuffle = 0,
    truth: Annotated[Path | None, typer.Option(help="Also write the ground truth here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    as_json: AsJson = False,
) -> None:
    """Send a simulated city's events to the Kafka input topics at a target rate."""
    settings = get_settings()
    bootstrap = bootstrap or settings.kafka.bootstrap
    if not bootstrap:
        raise ConfigurationError(
            "no broker: pass --bootstrap or set CREDITBRAIN_KAFKA__BOOTSTRAP "
            "(`creditbrain broker up` runs an embedded one on 127.0.0.1:9092)"
        )
    prefix = prefix or settings.kafka.topic_prefix
    config = _config(
        seed=seed, scale=scale, enterprises=enterprises, non_enterprises=non_enterprises,
        individual_businesses=individual_businesses, government_bodies=government_bodies,
        persons=persons, days=days, start=start, activity=activity,
        error_rate=error_rate, shuffle_window=shuffle_window,
    )  # fmt: skip
    if create_topics:
        from creditbrain.infra.broker import ensure_topics
        from creditbrain.schemas.contract import topic_specs

        specs = topic_specs(prefix, settings.kafka.partitions, settings.kafka.replication_factor)
        ensure_topics(bootstrap, specs)
    key = settings.pseudonym_key.get_secret_value().encode()
    with _progress_bar(quiet or as_json) as callback:
        from creditbrain.infra.kafka_security import aiokafka_options

        summary = produce(
            bootstrap,
            prefix,
            config,
            rate,
            callback,
            pseudonym_key=key,
            truth_path=truth,
            client_options=aiokafka_options(),
        )
    _print_summary(summary, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.add_typer(simulate_app, name="simulate")
