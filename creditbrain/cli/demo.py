"""``creditbrain demo``: see the whole system work on a simulated city."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from creditbrain.infra.store import Store, connect
from creditbrain.runtime.demo import Demo, DemoOptions, Tally, snapshot_path
from creditbrain.settings import Settings, get_settings

console = Console()
LEVELS = ("red", "orange", "yellow", "blue")
LEVEL_STYLE = {"red": "bold red", "orange": "dark_orange", "yellow": "yellow", "blue": "blue"}


def _view(demo: Demo, began: float, phase: str) -> Panel:
    tally: Tally = demo.tally
    elapsed = max(time.monotonic() - began, 1e-6)
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[bold]{phase}[/bold]",
        f"event time {tally.event_time or '-'}",
        f"{tally.produced:,} / {demo.total:,} produced ({tally.produced / elapsed:,.0f}/s)",
        f"{tally.processed:,} processed",
    )
    levels = Table(title="warnings opened", show_edge=False)
    for level in LEVELS:
        levels.add_column(level, style=LEVEL_STYLE[level], justify="right")
    levels.add_column("resolved", justify="right")
    levels.add_row(*(f"{tally.warnings[level]:,}" for level in LEVELS), f"{tally.resolved:,}")
    dlq = Table(title="dead letters", show_edge=False)
    dlq.add_column("reason")
    dlq.add_column("messages", justify="right")
    for reason, count in tally.dead_letters.most_common(6):
        dlq.add_row(reason, f"{count:,}")
    bar = ProgressBar(total=max(demo.total, 1), completed=tally.produced, width=60)
    return Panel(Group(head, bar, levels, dlq), title="creditbrain demo: Rizhao, one year")


def demo_command(
    scale: Annotated[
        float, typer.Option(help="City size relative to the default (52,300 subjects).")
    ] = 1.0,
    rate: Annotated[
        float, typer.Option(help="Messages per second onto the topics (0: no limit).")
    ] = 2000.0,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 2025,
    duration: Annotated[
        float | None, typer.Option(help="Stop producing after this many seconds.")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Start from an empty data directory.")] = False,
) -> None:
    """Run the whole system on a simulated year of the city, live, then summarise it."""
    settings = get_settings()
    demo = Demo(settings, DemoOptions(scale, seed, rate, duration, fresh))
    console.print(f"data directory: {demo.data_dir}")
    if demo.demo_keys:
        api = settings.api
        console.print(
            f"API on http://{api.host}:{api.port} with the PUBLIC demo keys "
            "(demo-admin, demo-regulator, ...; docs/api.md)"
        )
    demo.start()
    began = time.monotonic()
    interrupted = False
    try:
        import threading

        player = threading.Thread(target=demo.play, daemon=True, name="demo-player")
        demo.total = _expected_messages(demo)
        player.start()
        with Live(_view(demo, began, "simulating"), console=console, refresh_per_second=4) as live:
            while player.is_alive():
                if not demo.worker_alive():
                    demo.stopping.set()
                    raise typer.Exit(_worker_died(demo))
                live.update(_view(demo, began, "simulating"))
                time.sleep(0.25)
            drained = [False]
            drainer = threading.Thread(target=lambda: drained.__setitem__(0, demo.drain()))
            drainer.start()
            while drainer.is_alive():
                live.update(_view(demo, began, "draining"))
                time.sleep(0.25)
            live.update(_view(demo, began, "done" if drained[0] else "stopped"))
    except KeyboardInterrupt:
        interrupted = True
        demo.stopping.set()
        console.print("interrupted: stopping the worker cleanly")
    finally:
        demo.stop()
    _summarise(settings, demo, interrupted)


def _expected_messages(demo: Demo) -> int:
    """How many messages the simulation holds (a quick dry pass over the generator)."""
    from creditbrain.simulator.simulation import Simulator

    return sum(1 for _ in Simulator(demo.simulator.config, pseudonym_key=b"x").events())


def _worker_died(demo: Demo) -> int:
    console.print("[red]the worker stopped unexpectedly[/red]; its log ends with:")
    console.print(demo.serve_log_tail(), highlight=False)
    return 1


def _summarise(settings: Settings, demo: Demo, interrupted: bool) -> None:
    store = connect(settings.clickhouse_dsn, settings.clickhouse.database)
    store.bind_database()
    rows = store.query_rows
    events = rows("SELECT count() AS n FROM events FINAL")[0]["n"]
    grades = rows(
        "SELECT grade, count() AS n FROM entity_state FINAL GROUP BY grade ORDER BY grade"
    )
    alerts = rows(
        "SELECT level, countIf(status != 'resolved') AS open, count() AS total "
        "FROM alerts FINAL GROUP BY level"
    )
    dead = rows("SELECT count() AS n FROM dlq FINAL WHERE resolution = ''")[0]["n"]
    table = Table(title="what the city's credit brain holds now", show_header=False)
    table.add_row("events stored", f"{events:,}")
    table.add_row("subjects by grade", ", ".join(f"{r['grade']} {r['n']:,}" for r in grades))
    for row in sorted(alerts, key=lambda r: LEVELS.index(str(r["level"]))):
        table.add_row(f"{row['level']} warnings", f"{row['open']:,} open of {row['total']:,}")
    table.add_row("dead letters", f"{dead:,}")
    console.print(table)
    example = rows(
        "SELECT subject_id FROM alerts FINAL WHERE level = 'red' AND status != 'resolved' "
        "AND subject_type != 'person' ORDER BY event_time DESC LIMIT 1"
    )
    snapshot = _snapshot(store, demo)
    if snapshot:
        console.print(f"offline dashboard: [bold]{snapshot}[/bold]")
    if example:
        subject = example[0]["subject_id"]
        console.print(
            f"credit check of a subject with an open red warning:\n  creditbrain check {subject}"
        )
    console.print(f"worker log: {demo.data_dir / 'serve.log'}")
    console.print("run `creditbrain serve` to keep the worker (and its API) running on this data")
    if interrupted:
        raise typer.Exit(130)


def _snapshot(store: Store, demo: Demo) -> str | None:
    try:
        from creditbrain.dashboards.snapshot import render_snapshot
    except ImportError:
        return None
    from creditbrain.dashboards.registry import registry_of_city, set_registry
    from creditbrain.simulator import CityConfig

    # The simulated population is the city's register; the snapshot is as of the
    # simulated data's end in event time (render_snapshot's default), not of today.
    city = CityConfig.scaled(demo.options.scale, seed=demo.options.seed)
    set_registry(store, registry_of_city(city), "simulated city")
    return str(render_snapshot(store, snapshot_path(demo.data_dir)))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("demo")(demo_command)
