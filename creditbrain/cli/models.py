"""``creditbrain models ...``: run the project's models from the command line."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from creditbrain.core.errors import ConfigurationError, CreditBrainError, InputFileError
from creditbrain.settings import get_settings

models_app = typer.Typer(help="Run the anomaly detection models on files.", no_args_is_help=True)


@models_app.callback()
def models() -> None:
    """Run the anomaly detection models on files."""


@models_app.command("detect-series")
def detect_series(
    input_path: Annotated[
        str, typer.Option("--input", "-i", help="CSV with header timestamp,value ('-' for stdin).")
    ],
    output_path: Annotated[
        str,
        typer.Option(
            "--output", "-o", help="CSV to write timestamp,value,anomaly_score ('-' for stdout)."
        ),
    ],
) -> None:
    """Score every point of a univariate series online, with an anomaly score in [0, 1]."""
    from creditbrain.models.series.io import STDIO, detect_csv

    started = time.perf_counter()
    try:
        summary = detect_csv(input_path, output_path)
    except CreditBrainError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    elapsed = time.perf_counter() - started
    typer.echo(
        f"{summary.rows} rows scored in {elapsed:.2f} s: max score {summary.max_score:.3f}, "
        f"{summary.above_half} rows >= 0.5",
        err=output_path == STDIO,
    )


@models_app.command("evaluate")
def evaluate_command(
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="JSON Lines file of events to evaluate on (default: simulate)."
        ),
    ] = None,
    truth_path: Annotated[
        Path | None,
        typer.Option("--truth", help="Its ground truth (the simulator's .truth.json), optional."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated city (not a tuning seed).")] = 42,
    scale: Annotated[
        float, typer.Option(help="Population as a share of the default city.", min=0.0001)
    ] = 0.2,
    warm_seed: Annotated[
        int,
        typer.Option(help="Seed of a simulated year the models learn on first (-1: start cold)."),
    ] = -1,
    days: Annotated[int, typer.Option(help="Days of event time per city.", min=30)] = 365,
    stories: Annotated[
        str, typer.Option(help="Story mix of the simulated city: classic or varied.")
    ] = "classic",
    detector: Annotated[
        bool,
        typer.Option(
            help="Half-space trees behind anomalous_deterioration (the default); "
            "--no-detector: the 270-day regression (threshold 0.6)."
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Rules only, models only and both, judged by the red events that follow.

    On a file (``--input``, with ``--truth`` for the figures by story) or on a
    simulated city. The models start cold unless ``--warm-seed`` is given.
    """
    # Imported here: the models' training stack is slow to import and only this needs it.
    from creditbrain.engine.evaluation import (
        evaluate_lines,
        format_report,
        regression_policies,
        run,
    )
    from creditbrain.models.subject import EarlyWarning

    if stories not in ("classic", "varied"):
        raise ConfigurationError(f"--stories must be classic or varied, not {stories!r}")
    if input_path is not None:
        from creditbrain.cli.contract import parse_context, read_lines

        truth = None
        if truth_path is not None:
            try:
                truth = orjson.loads(truth_path.read_bytes())
            except (OSError, orjson.JSONDecodeError) as error:
                raise InputFileError(f"{truth_path}: not a readable truth file") from error
        source = {"input": str(input_path)}
        report = evaluate_lines(
            read_lines(input_path),
            parse_context(get_settings()),
            truth,
            EarlyWarning(detector=detector),
            None if detector else regression_policies(),
            source,
        )
    else:
        warm = None if warm_seed < 0 else warm_seed
        report = run(seed, scale, warm, days, stories, detector=detector)
    if as_json:
        typer.echo(orjson.dumps(report.as_dict()).decode())
    else:
        typer.echo(format_report(report))


@models_app.command("export-checkpoint")
def export_checkpoint_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint file to write.")],
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (default: settings).")
    ] = None,
) -> None:
    """Write the running worker's latest model checkpoints to one file.

    The file starts ``creditbrain backtest --models FILE`` from what the worker has
    learned. It is read from the worker's checkpoint topic (``<app id>-models``).
    """
    from creditbrain.models.checkpoint import CheckpointError
    from creditbrain.streams.checkpoints import export_checkpoints

    settings = get_settings()
    server = bootstrap or settings.kafka.bootstrap
    if not server:
        raise ConfigurationError(
            "no broker: pass --bootstrap or set CREDITBRAIN_KAFKA__BOOTSTRAP "
            "(the embedded broker's address is in `creditbrain serve`'s log)"
        )
    try:
        written = export_checkpoints(server, settings.stream.app_id, out)
    except CheckpointError as error:
        raise ConfigurationError(str(error)) from error
    typer.echo(f"{written} model checkpoints of {settings.stream.app_id} written to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.add_typer(models_app, name="models")
