"""``creditbrain score FILE.jsonl``: credit scores from a file, with no broker and no store.

The command is a thin shell around :func:`creditbrain.engine.replay.score_lines`,
the offline reference the stream must agree with.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from creditbrain.cli.contract import fail_on_dead_letters, parse_context, read_lines
from creditbrain.cli.progress import tracked
from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import from_epoch_ms, to_epoch_ms
from creditbrain.models.scorecard import load_scorecard
from creditbrain.schemas.state import SubjectScore
from creditbrain.settings import get_settings

if TYPE_CHECKING:  # the engine loads the models (River, SciPy): only when a file is scored
    from creditbrain.engine.replay import OfflineScores


def parse_as_of(text: str, option: str = "--as-of") -> int:
    """An ISO 8601 time with a UTC offset (the value of ``option``), as epoch milliseconds.

    >>> parse_as_of("2026-03-04T09:30:00+08:00")
    1772587800000
    >>> parse_as_of("2026-03-04")
    Traceback (most recent call last):
    ...
    creditbrain.core.errors.ConfigurationError: --as-of 2026-03-04: needs a time with a UTC...
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ConfigurationError(f"{option} {text}: not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise ConfigurationError(
            f"{option} {text}: needs a time with a UTC offset, e.g. 2026-03-04T00:00:00+08:00"
        )
    return to_epoch_ms(moment)


def score_command(
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one event per line.")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Score as of this ISO 8601 time with offset. Default: the latest occurred_at "
            "of the accepted events.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per subject and line.")
    ] = False,
    scorecard: Annotated[
        Path | None,
        typer.Option(
            "--scorecard",
            help="JSON or TOML scorecard file. Default: the deployment's "
            "(CREDITBRAIN_SCORECARD_FILE), else the default scorecard.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with 1 when any line is a dead letter.")
    ] = False,
) -> None:
    """Score every subject of a file offline; one line per subject, sorted by subject id.

    Events are applied in file order; rejected lines are skipped and counted by
    reason on stderr (exit code 0, or 1 with --strict when any was rejected).
    Persons appear under their pseudonym.
    """
    from creditbrain.engine.replay import score_lines

    settings = get_settings()
    as_of_ms = None if as_of is None else parse_as_of(as_of)
    config = load_scorecard(scorecard or settings.scorecard_file)
    lines = read_lines(file)
    run = score_lines(
        tracked(lines, "scoring"),
        parse_context(settings),
        config,
        as_of_ms,
        settings.max_message_bytes,
    )
    for subject_id in sorted(run.results):
        public = SubjectScore.of(run.states[subject_id], run.results[subject_id])
        typer.echo(public.model_dump_json() if as_json else _line(public))
    typer.echo(_summary(run), err=True)
    if strict:
        fail_on_dead_letters(sum(run.rejected.values()), len(lines))


def _line(score: SubjectScore) -> str:
    reasons = "; ".join(f"{r.kind} {r.effect:+d} {r.event_id}" for r in score.reasons)
    return f"{score.subject_id}\t{score.score}\t{score.grade}\t{reasons or '-'}"


def _summary(run: OfflineScores) -> str:
    when = "" if run.as_of_ms is None else f" as of {from_epoch_ms(run.as_of_ms).isoformat()}"
    total = sum(run.rejected.values())
    text = (
        f"{len(run.results)} subjects scored{when}; {run.applied} applied, "
        f"{run.duplicates} duplicates, {total} rejected"
    )
    if total:
        counts = ", ".join(f"{reason.value} {n}" for reason, n in sorted(run.rejected.items()))
        text += f" ({counts})"
    return text


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("score")(score_command)
