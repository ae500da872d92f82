"""``creditbrain backtest FILE.jsonl``: the warnings a candidate policy would have raised.

A supervisor about to change a threshold runs the history (or any file of wire
messages) through the engine the worker runs, under the candidate policies, and
sees every warning change the stream would publish, then a summary. Nothing is
sent or stored. ``--from-store --since DAY`` replays the accepted events the store
keeps (those of ``--scope``), and ``--compare`` answers what ``POST
/policies/preview`` answers: the candidate against the policy in force.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.policy_changes import apply_policy_message
from creditbrain.cli.contract import parse_context, read_lines
from creditbrain.cli.progress import tracked
from creditbrain.cli.score import parse_as_of
from creditbrain.core.errors import ConfigurationError
from creditbrain.models.scorecard import load_scorecard
from creditbrain.schemas.policies import PolicyError
from creditbrain.settings import get_settings

if TYPE_CHECKING:  # the engine and the models (River, SciPy) load when a backtest runs
    from creditbrain.engine.replay import Backtest
    from creditbrain.models.series.watch import SeriesWatch
    from creditbrain.models.subject import EarlyWarning


def load_policies(path: Path | None) -> PolicySet:
    """The policy set of a JSON or TOML file: scope key -> override, as on ``credit.policies``.

    ``{"*": {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}}`` lowers
    the city-wide red threshold of wage arrears; scopes and overrides are checked as
    the worker checks them, and every error is one line.

    >>> load_policies(None).overrides
    {}
    """
    policies = PolicySet()
    if path is None:
        return policies
    suffix = path.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigurationError(f"policies {path}: expected a .json or .toml file")
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        why = error.strerror if isinstance(error, OSError) else str(error)
        raise ConfigurationError(f"policies {path}: {why}") from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"policies {path}: expected a table of scope -> override")
    for scope, override in data.items():
        if not isinstance(override, dict):
            raise ConfigurationError(f"policies {path}: {scope}: expected a table")
        try:
            policies = apply_policy_message(policies, scope, orjson.dumps(override))
        except PolicyError as error:
            raise ConfigurationError(f"policies {path}: {error}") from error
    return policies


def load_models(path: Path | None, policies: PolicySet) -> tuple[EarlyWarning, SeriesWatch]:
    """The online models, warm from a checkpoint file or new (``path`` ``None``).

    A file comes from ``creditbrain models export-checkpoint``: the early-warning
    models and the series watch's tracks as the worker last saved them.
    """
    from creditbrain.models import checkpoint
    from creditbrain.models.checkpoint import CheckpointError
    from creditbrain.models.series.watch import SeriesTrack, SeriesWatch
    from creditbrain.models.subject import EarlyWarning

    watch = SeriesWatch(lambda: policies)
    if path is None:
        return EarlyWarning(), watch
    try:
        found = checkpoint.read_file(path)
        model = found.early_warning()
        banks = found.series_banks(SeriesTrack)
    except CheckpointError as error:
        raise ConfigurationError(f"models {path}: {error}") from error
    if model is None:
        raise ConfigurationError(f"models {path}: holds no early-warning checkpoint")
    # The worker keeps one bank per partition of its counts topic; a backtest reads
    # every count from one, so the series of all banks go into that one.
    watch.bank(0).update({key: track for bank in banks.values() for key, track in bank.items()})
    return model, watch


def backtest_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="JSON Lines file of wire messages, in order (or --from-store)."),
    ] = None,
    policies: Annotated[
        Path | None,
        typer.Option(
            "--policies",
            help="JSON or TOML file: scope key -> override, as the values of credit.policies. "
            "Default: the built-in policies.",
        ),
    ] = None,
    scorecard: Annotated[
        Path | None,
        typer.Option(
            "--scorecard",
            help="JSON or TOML scorecard file. Default: the deployment's "
            "(CREDITBRAIN_SCORECARD_FILE), else the default scorecard.",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Start the online models from this checkpoint file."),
    ] = None,
    no_models: Annotated[
        bool, typer.Option("--no-models", help="Rules only: no online models.")
    ] = False,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Let event time run on to this ISO 8601 time (with offset) after the last "
            "event, so that publicity periods end and warnings resolve.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object per change, then a summary object."),
    ] = False,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store", help="Replay the accepted events kept in the store instead of FILE."
        ),
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="With --from-store: first day (YYYY-MM-DD, UTC)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="With --from-store: last day (YYYY-MM-DD, UTC; default today)."),
    ] = None,
    scope: Annotated[
        str,
        typer.Option("--scope", help="With --from-store: only the subjects of this policy scope."),
    ] = "*",
    compare_sets: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Compare --policies with the policy in force (the store's audited changes with "
            "--from-store, else the built-in policies), rules only: one JSON object.",
        ),
    ] = False,
) -> None:
    """Print every warning change the stream would publish for FILE, in event-time order.

    Without --models the online models (the subjects' early warning and the
    city-level series watch) learn from the file itself, as a fresh worker would;
    --no-models leaves them out. Persons appear under their pseudonym.
    """
    from creditbrain.cli.stored_history import read_store
    from creditbrain.engine.compare import compare
    from creditbrain.engine.replay import backtest

    if models is not None and no_models:
        raise ConfigurationError("--models and --no-models exclude each other")
    settings = get_settings()
    policy_set = load_policies(policies)
    config = load_scorecard(scorecard or settings.scorecard_file)
    until_ms = None if until is None else parse_as_of(until, "--until")
    ctx = parse_context(settings)
    in_force = PolicySet()
    if from_store:
        if file is not None:
            raise ConfigurationError("give FILE or --from-store, not both")
        history = read_store(settings, scope, since, to)
        lines, ctx = history.lines, replace(ctx, accept_pseudonyms=True)
        in_force = history.in_force
        until_ms = history.end_ms if until_ms is None else until_ms
    elif file is None:
        raise ConfigurationError("give a FILE of wire messages, or --from-store")
    else:
        lines = read_lines(file)
    if compare_sets:
        found = compare(lines, ctx, config, in_force, policy_set, until_ms=until_ms)
        typer.echo(orjson.dumps(found.as_dict()).decode())
        return
    model, watch = (None, None) if no_models else load_models(models, policy_set)
    changes, summary = backtest(
        tracked(lines, "backtesting"),
        ctx,
        config,
        policy_set,
        model,
        until_ms,
        settings.max_message_bytes,
        watch,
    )
    for change in changes:
        typer.echo(orjson.dumps(change).decode() if as_json else _line(change))
    if as_json:
        typer.echo(orjson.dumps({"summary": summary.as_dict()}).decode())
    else:
        typer.echo(_summary(summary), err=True)
    sys.stdout.flush()


def _line(change: dict[str, Any]) -> str:
    sent = "" if change["sent"] else " (stored, not sent)"
    return (
        f"{change['time']}  {change['level']:<6} {change['status']:<9} {change['rule']:<28} "
        f"{change['subject_id']}  {change['score']} {change['grade']}{sent}"
    )


def _summary(summary: Backtest) -> str:
    doc = summary.as_dict()
    levels = ", ".join(f"{level} {n}" for level, n in doc["warnings_by_level"].items()) or "none"
    rules = ", ".join(f"{rule} {n}" for rule, n in doc["warnings_by_rule"].items()) or "none"
    return (
        f"{doc['messages']} messages: {doc['applied']} applied, {doc['duplicates']} duplicates, "
        f"{doc['dead_letters']} dead letters; {doc['events_per_s']} messages/s\n"
        f"warnings sent by level: {levels}\nopened by rule: {rules}"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("backtest")(backtest_command)
