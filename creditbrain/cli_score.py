"""``creditbrain score FILE.jsonl``: credit scores from a file, with no broker and no store.

The command is a thin shell around :func:`creditbrain.engine.replay.score_lines`,
the offline reference the stream must agree with. Mounted by the main CLI as
``app.command("score")(score_command)``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from creditbrain.cli_contract import parse_context, read_lines
from creditbrain.engine.replay import OfflineScores, score_lines
from creditbrain.errors import ConfigurationError
from creditbrain.models.scorecard import load_scorecard
from creditbrain.schemas.state import SubjectScore, from_epoch_ms, to_epoch_ms
from creditbrain.settings import get_settings


def parse_as_of(text: str, option: str = "--as-of") -> int:
    """An ISO 8601 time with a UTC offset (the value of ``option``), as epoch milliseconds.

    >>> parse_as_of("2026-03-04T09:30:00+08:00")
    1772587800000
    >>> parse_as_of("2026-03-04")
    Traceback (most recent call last):
    ...
    creditbrain.errors.ConfigurationError: --as-of 2026-03-04: needs a time with a UTC offset, ...
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
        typer.Option("--scorecard", help="JSON or TOML file overriding the default scorecard."),
    ] = None,
) -> None:
    """Score every subject of a file offline; one line per subject, sorted by subject id.

    Events are applied in file order; rejected lines are skipped and counted by
    reason on stderr. Persons appear under their pseudonym.
    """
    settings = get_settings()
    as_of_ms = None if as_of is None else parse_as_of(as_of)
    config = load_scorecard(scorecard)
    run = score_lines(
        read_lines(file), parse_context(settings), config, as_of_ms, settings.max_message_bytes
    )
    for subject_id in sorted(run.results):
        public = SubjectScore.of(run.states[subject_id], run.results[subject_id])
        typer.echo(public.model_dump_json() if as_json else _line(public))
    typer.echo(_summary(run), err=True)


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
