"""The CLI's parts in-process: progress bars, settings messages, --strict, the id check."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.cli.failures import report
from creditbrain.cli.progress import LARGE, tracked
from creditbrain.core.errors import ConfigurationError, InputFileError
from creditbrain.settings import get_settings

runner = CliRunner()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_progress_bar_only_on_a_terminal_and_a_large_file() -> None:
    big = [b"x"] * LARGE
    screen = io.StringIO()
    assert list(tracked(big, "validating", Console(file=screen, force_terminal=True))) == big
    assert "validating" in screen.getvalue()
    for lines, terminal in ((big, False), (big[: LARGE - 1], True)):
        quiet = io.StringIO()
        console = Console(file=quiet, force_terminal=terminal)
        assert list(tracked(lines, "validating", console)) == lines
        assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CREDITBRAIN_KAFKA__PARTITIONS", "abc", "CREDITBRAIN_KAFKA__PARTITIONS must be a valid"),
        ("CREDITBRAIN_KAFKA__PARTITIONS", "0", "must be greater than or equal to 1"),
        ("CREDITBRAIN_API__KEYS", "not json", "CREDITBRAIN_API__KEYS must be JSON"),
        ("CREDITBRAIN_API__KEYS", '[{"name": "a"}]', "CREDITBRAIN_API__KEYS (item 0, role)"),
        ("CREDITBRAIN_KAFKA__ACKS", "2", "CREDITBRAIN_KAFKA__ACKS must be '1' or 'all'"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    message = str(raised.value)
    assert says in message
    assert "\n" not in message


def test_strict_validate_and_score(tmp_path: Path) -> None:
    path = tmp_path / "one-bad.jsonl"
    path.write_text("{oops\n", encoding="utf-8")
    for command in ("validate", "score"):
        assert runner.invoke(app, [command, str(path)]).exit_code == 0
        strict = runner.invoke(app, [command, str(path), "--strict"])
        assert isinstance(strict.exception, InputFileError)


def test_check_refuses_an_id_the_api_refuses(tmp_path: Path) -> None:
    # One check digit off: the API answers 422, the command a usage error.
    result = runner.invoke(app, ["check", "91350100M000100Y44"])
    assert result.exit_code == 2
    assert "Invalid value for 'SUBJECT_ID'" in result.output


def test_user_errors_are_one_line_and_defects_keep_their_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREDITBRAIN_DEBUG", raising=False)
    out = io.StringIO()
    assert report(InputFileError("x.jsonl: no such file\nsecond line"), out) == 1
    assert out.getvalue() == "error: x.jsonl: no such file second line\n"
    defect = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug"):
        report(defect, io.StringIO())
    monkeypatch.setenv("CREDITBRAIN_DEBUG", "1")
    with pytest.raises(InputFileError):
        report(InputFileError("x.jsonl: no such file"), io.StringIO())
