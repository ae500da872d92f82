"""Commands about the wire contract: ``validate``, ``replay``, ``schemas export``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from creditbrain.cli.progress import tracked
from creditbrain.core.errors import InputFileError
from creditbrain.schemas.events import EVENT_ADAPTER, ParseContext
from creditbrain.schemas.parse import DeadLetter, parse_event
from creditbrain.settings import Settings, get_settings

console = Console(stderr=True)
schemas_app = typer.Typer(
    help="The contract's JSON Schemas and the AsyncAPI document of its topics.",
    no_args_is_help=True,
)


def parse_context(settings: Settings) -> ParseContext:
    """The deployment's validation context."""
    from creditbrain.schemas.reference import Reference

    return ParseContext(
        pseudonym_key=settings.pseudonym_key.get_secret_value().encode(),
        reference=Reference(credit_code_allow_list=settings.credit_code_allow_list),
    )


def read_lines(path: Path) -> list[bytes]:
    """The non-empty lines of a JSON Lines file, or a one-line error."""
    if not path.is_file():
        raise InputFileError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFileError(f"{path}: {error.strerror}") from error
    return [line for line in data.split(b"\n") if line.strip()]


def validate_command(
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one event per line.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with 1 when any line is a dead letter.")
    ] = False,
) -> None:
    """Validate a file without a broker: counts of valid lines and of each DLQ reason.

    The exit code is 0 whatever the lines hold, unless --strict and a line is a dead letter.
    """
    settings = get_settings()
    ctx = parse_context(settings)
    lines = read_lines(file)
    reasons: Counter[str] = Counter()
    for raw in tracked(lines, "validating"):
        result = parse_event(raw.rstrip(b"\r"), ctx, settings.max_message_bytes)
        if isinstance(result, DeadLetter):
            reasons[result.reason.value] += 1
    valid = len(lines) - sum(reasons.values())
    if as_json:
        typer.echo(
            json.dumps({"lines": len(lines), "valid": valid, "dlq": dict(sorted(reasons.items()))})
        )
    else:
        _print_table(file, len(lines), valid, reasons)
    if strict:
        fail_on_dead_letters(sum(reasons.values()), len(lines))


def fail_on_dead_letters(dead: int, lines: int) -> None:
    """``--strict``: a file with any dead letter is failed work (exit 1, one line).

    >>> fail_on_dead_letters(0, 3)
    >>> fail_on_dead_letters(1, 3)
    Traceback (most recent call last):
    ...
    creditbrain.core.errors.InputFileError: 1 of 3 lines would be dead letters (--strict)
    """
    if dead:
        raise InputFileError(f"{dead} of {lines} lines would be dead letters (--strict)")


def _print_table(file: Path, lines: int, valid: int, reasons: Counter[str]) -> None:
    table = Table(title=f"{file}: {lines} lines")
    table.add_column("verdict")
    table.add_column("messages", justify="right")
    table.add_row("valid", str(valid))
    for reason, count in sorted(reasons.items()):
        table.add_row(f"dlq: {reason}", str(count))
    Console().print(table)


def replay_command(
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one event per line.")],
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (default: settings).")
    ] = None,
) -> None:
    """Validate a file and produce it to the contract's topics (bad lines to the DLQ)."""
    from creditbrain.infra.produce import produce_lines

    settings = get_settings()
    server = bootstrap or settings.kafka.bootstrap
    if not server:
        raise InputFileError(
            "no broker: pass --bootstrap or set CREDITBRAIN_KAFKA__BOOTSTRAP "
            "(`creditbrain broker up` starts the embedded one)"
        )
    lines = read_lines(file)
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("replaying", total=len(lines))
        summary = produce_lines(
            lines,
            server,
            settings.kafka.topic_prefix,
            parse_context(settings),
            settings.max_message_bytes,
            lambda n: progress.advance(task, n),
            source=file.name,
        )
    for topic, count in sorted(summary.by_topic.items()):
        typer.echo(f"{count:>9}  {topic}")
    typer.echo(f"{summary.lines:>9}  lines produced ({sum(summary.dlq.values())} to the DLQ)")


@schemas_app.command("export")
def export_schemas(
    directory: Annotated[Path, typer.Argument(help="Folder to write the documents into.")],
) -> None:
    """Write the contract's JSON Schemas and the AsyncAPI document of its topics into DIRECTORY.

    ``credit-event``, ``warning`` and ``score-change`` ``.schema.json`` (JSON Schema
    2020-12) and ``asyncapi.json`` (AsyncAPI 3.0, topic names and partitions from the
    settings). docs/schemas/ in the repository is this command's output for the defaults.
    """
    from creditbrain.asyncapi import asyncapi_document
    from creditbrain.schemas.export import contract_schemas

    kafka = get_settings().kafka
    documents = {f"{name}.schema.json": doc for name, doc in contract_schemas().items()}
    documents["asyncapi.json"] = asyncapi_document(
        kafka.topic_prefix, kafka.partitions, kafka.replication_factor
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, document in documents.items():
            path = directory / name
            path.write_text(write_json(document), encoding="utf-8")
            typer.echo(str(path))
    except OSError as error:
        raise InputFileError(f"{directory}: {error.strerror}") from error


def write_json(document: object) -> str:
    """The committed form of a published document: indented, UTF-8 as is, a final newline.

    >>> print(write_json({"b": "网格", "a": [1]}), end="")
    {
      "b": "网格",
      "a": [
        1
      ]
    }
    """
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "EVENT_ADAPTER",
    "export_schemas",
    "fail_on_dead_letters",
    "replay_command",
    "schemas_app",
    "validate_command",
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``creditbrain`` command."""
    app.command("validate")(validate_command)
    app.command("replay")(replay_command)
    app.add_typer(schemas_app, name="schemas")
