"""The ``creditbrain`` command line: one entry point, a sub-command per job.

Only :class:`creditbrain.errors.CreditBrainError` is caught here: it becomes one
line on stderr and exit code 1; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from creditbrain.cli_api import api_command
from creditbrain.cli_backfill import backfill_command
from creditbrain.cli_backtest import backtest_command
from creditbrain.cli_contract import replay_command, schemas_app, validate_command
from creditbrain.cli_dashboards import dashboards_app
from creditbrain.cli_demo import check_command, demo_command
from creditbrain.cli_deploy import db_render_command, sink_command, topics_app
from creditbrain.cli_infra import broker_app, db_app
from creditbrain.cli_models import models_app
from creditbrain.cli_run import serve_command, worker_command
from creditbrain.cli_score import score_command
from creditbrain.cli_simulate import simulate_app
from creditbrain.errors import CreditBrainError

app = typer.Typer(
    name="creditbrain",
    help="Real-time credit monitoring and early warning for a city's public credit platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo_command)
app.command("check")(check_command)
app.command("validate")(validate_command)
app.command("replay")(replay_command)
app.command("backfill")(backfill_command)
app.add_typer(schemas_app, name="schemas")
app.add_typer(broker_app, name="broker", help="The embedded Kafka-protocol broker.")
app.add_typer(db_app, name="db", help="The ClickHouse store.")
db_app.command("render")(db_render_command)
app.add_typer(topics_app, name="topics")
app.command("score")(score_command)
app.command("backtest")(backtest_command)
app.add_typer(simulate_app, name="simulate")
app.add_typer(models_app, name="models")
app.add_typer(dashboards_app, name="dashboards")
app.command("worker")(worker_command)
app.command("serve")(serve_command)
app.command("api")(api_command)
app.command("sink")(sink_command)


def main() -> None:
    """Console-script entry point."""
    err = Console(stderr=True)
    try:
        result = app(standalone_mode=False)
    except CreditBrainError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
