"""Error paths of the installed ``creditbrain`` script, run in a subprocess as a user runs it.

typer's test runner calls the app in-process and never reaches the console script's
``main``, which is where typer's own click exceptions become one line and an exit
code; so these go through ``.venv/bin/creditbrain`` itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("creditbrain")
CODE = "91350100M000100Y43"  # a valid unified social credit code


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``creditbrain ARGS`` in ``cwd`` with no CREDITBRAIN_* variable but ``env``.

    With ``_SHELL_RUNNER`` in ``env``, that program runs with ``ARGS`` instead.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    runner = env.pop("_SHELL_RUNNER", None)
    executable = runner or (str(SCRIPT) if SCRIPT.exists() else shutil.which("creditbrain"))
    assert executable, "the creditbrain console script is not installed"
    return subprocess.run(
        [executable, *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# Usage errors: one error line that points at the command's help; exit 2.
USAGE_ERRORS = [
    ([], "`creditbrain --help`", "Missing command"),
    (["frobnicate"], "`creditbrain --help`", "'frobnicate'"),
    (["validate"], "`creditbrain validate --help`", "Missing argument 'file'"),
    (["check", "X", "--history", "abc"], "`creditbrain check --help`", "'--history'"),
    (["check", "X"], "`creditbrain check --help`", "'X' is not a valid credit code"),
    (["check", CODE, "--history", "-1"], "`creditbrain check --help`", "'--history'"),
]


@pytest.mark.parametrize(("args", "help_hint", "says"), USAGE_ERRORS)
def test_usage_errors_are_one_error_line(
    tmp_path: Path, args: list[str], help_hint: str, says: str
) -> None:
    done = run(args, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    got = lines(done.stderr)
    assert len(got) == 1, done.stderr
    assert got[0].startswith("error: ")
    assert says in got[0]
    assert help_hint in got[0]


# Failed work: one error line; exit 1.
WORK_ERRORS = [
    (["validate", "missing.jsonl"], {}, "missing.jsonl: no such file"),
    (
        ["validate", "missing.jsonl"],
        {"CREDITBRAIN_KAFKA__PARTITIONS": "abc"},
        "CREDITBRAIN_KAFKA__PARTITIONS must be a valid integer",
    ),
    (
        ["validate", "missing.jsonl"],
        {"CREDITBRAIN_API__KEYS": "not json"},
        "CREDITBRAIN_API__KEYS must be JSON",
    ),
    (
        ["score", "missing.jsonl"],
        {"CREDITBRAIN_STREAM__BATCH_SIZE": "0"},
        "CREDITBRAIN_STREAM__BATCH_SIZE must be greater than or equal to 1",
    ),
    (["check", CODE], {}, "`creditbrain demo`"),
]


@pytest.mark.parametrize(("args", "env", "says"), WORK_ERRORS)
def test_failed_work_is_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    done = run(args, tmp_path, **env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    got = lines(done.stderr)
    assert len(got) == 1, done.stderr
    assert got[0].startswith("error: ")
    assert says in got[0]


def test_check_creates_no_data_directory(tmp_path: Path) -> None:
    done = run(["check", CODE], tmp_path)
    assert done.returncode == 1
    assert "no store at" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {"CREDITBRAIN_KAFKA__PARTITIONS": "abc"}
    quiet = run(["validate", "x.jsonl"], tmp_path, **env)
    assert "Traceback" not in quiet.stderr
    loud = run(["--debug", "validate", "x.jsonl"], tmp_path, **env)
    by_env = run(["validate", "x.jsonl"], tmp_path, CREDITBRAIN_DEBUG="1", **env)
    for done in (loud, by_env):
        assert done.returncode == 1
        assert "Traceback" in done.stderr
        assert "CREDITBRAIN_KAFKA__PARTITIONS" in done.stderr


def test_strict_fails_on_dead_letters(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"oops": 1}\nnot json\n', encoding="utf-8")
    lenient = run(["validate", "bad.jsonl", "--json"], tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert '"valid": 0' in lenient.stdout
    for command in ("validate", "score"):
        strict = run([command, "bad.jsonl", "--strict"], tmp_path)
        assert strict.returncode == 1, strict.stderr
        assert lines(strict.stderr)[-1] == "error: 2 of 2 lines would be dead letters (--strict)"
        assert "Traceback" not in strict.stderr


def test_version(tmp_path: Path) -> None:
    done = run(["--version"], tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"creditbrain {version('creditbrain')}"


def run_from_bash(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``creditbrain ARGS`` started by bash, as a user's shell would start it.

    typer finds the shell to complete for among the command's parent processes (make
    runs its recipes under sh, which it does not support), so bash stays the parent:
    the trailing ``exit`` keeps it from replacing itself with the command.
    """
    executable = str(SCRIPT) if SCRIPT.exists() else shutil.which("creditbrain")
    assert executable, "the creditbrain console script is not installed"
    return run(["-c", '"$0" "$@"; exit $?', executable, *args], cwd, _SHELL_RUNNER="bash", **env)


def test_shell_completion_script(tmp_path: Path) -> None:
    done = run_from_bash(["--show-completion", "bash"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "_CREDITBRAIN_COMPLETE" in done.stdout


def test_shell_completion_answers_through_the_script(tmp_path: Path) -> None:
    env = {"_CREDITBRAIN_COMPLETE": "complete_bash", "COMP_CWORD": "1"}
    commands = run([], tmp_path, COMP_WORDS="creditbrain sch", **env)
    assert commands.returncode == 0, commands.stderr
    assert commands.stdout.split() == ["schemas"]
    env["COMP_CWORD"] = "4"
    languages = run([], tmp_path, COMP_WORDS="creditbrain check X --lang ", **env)
    assert languages.stdout.split() == ["zh", "en"]


def test_install_completion_writes_to_the_users_shell_files(tmp_path: Path) -> None:
    done = run_from_bash(
        ["--install-completion", "bash"], tmp_path, HOME=str(tmp_path), SHELL="/bin/bash"
    )
    assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "creditbrain.sh"
    assert "_CREDITBRAIN_COMPLETE" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
