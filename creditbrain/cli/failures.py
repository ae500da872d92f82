"""How the ``creditbrain`` command ends when something goes wrong: one line, an exit code.

Usage errors (an unknown command, a missing argument, a value of the wrong type)
print one ``error:`` line that names the command's ``--help``, and exit with 2. Failed
work (:class:`~creditbrain.core.errors.CreditBrainError`, e.g. a missing file or a
bad ``CREDITBRAIN_*`` value) prints one ``error:`` line and exits with 1; with
``--debug`` or ``CREDITBRAIN_DEBUG=1`` it shows its traceback instead. Any other
exception is a defect and always shows its traceback (exit 1): a log that holds
one is how a crash of ``serve`` is noticed.

typer carries its own copy of click (``typer._click``), whose exceptions are not
click's, so they are caught here under typer's names; pyproject.toml pins typer to
the release range these paths are tested with (tests/cli/test_console_script.py).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from creditbrain.core.errors import CreditBrainError

__all__ = ["USER_ERRORS", "debug_requested", "one_line", "report"]

#: What the command line reports in one line; anything else is a defect.
USER_ERRORS = (CreditBrainError, typer.TyperException, typer.Abort, KeyboardInterrupt)

#: Set by ``creditbrain --debug`` (the root callback) before any command runs.
DEBUG = {"on": False}


def debug_requested() -> bool:
    """Whether tracebacks were asked for: ``--debug`` or ``CREDITBRAIN_DEBUG`` set to a true word.

    >>> os.environ.pop("CREDITBRAIN_DEBUG", None) and None
    >>> debug_requested()
    False
    """
    flag = os.environ.get("CREDITBRAIN_DEBUG", "").strip().lower()
    return DEBUG["on"] or flag in ("1", "true", "yes", "on")


def one_line(text: str) -> str:
    """A message folded onto one line (click's suggestions come on a line of their own).

    >>> one_line("No such command 'valdate'.\\nDid you mean 'validate'?")
    "No such command 'valdate'. Did you mean 'validate'?"
    """
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _usage_message(error: UsageError) -> str:
    path = error.ctx.command_path if error.ctx is not None else "creditbrain"
    return f"{one_line(error.format_message())} (`{path} --help` for more)"


def report(error: BaseException, stream: TextIO | None = None) -> int:
    """Print ``error`` as the command line shows it and return the exit code.

    Raises ``error`` again when it is a defect, or when tracebacks were asked for and
    it is not a usage error.
    """
    out = stream if stream is not None else sys.stderr
    if isinstance(error, NoArgsIsHelpError):
        # A command group named alone: typer has printed its help while raising this.
        return 2
    if isinstance(error, UsageError):
        out.write(f"error: {_usage_message(error)}\n")
        return 2
    if isinstance(error, KeyboardInterrupt | typer.Abort):
        out.write("aborted\n")
        return 130
    if debug_requested():
        raise error
    if isinstance(error, CreditBrainError):
        out.write(f"error: {one_line(str(error))}\n")
        return 1
    if isinstance(error, typer.TyperException):  # e.g. click's FileError
        out.write(f"error: {one_line(error.format_message())}\n")
        return error.exit_code
    raise error
