"""``creditbrain simulate file``: files, summary and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditbrain.cli.simulate import simulate_app
from creditbrain.core.errors import ConfigurationError

SMALL_OPTIONS = ["--subjects-scale", "0.01", "--days", "40", "--seed", "9"]


def test_file_writes_events_truth_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "city.jsonl"
    result = CliRunner().invoke(simulate_app, ["file", str(out), *SMALL_OPTIONS, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["messages"] == len(out.read_bytes().splitlines()) > 100
    assert summary["subjects"] == 523 and summary["truth_path"] == str(tmp_path / "city.truth.json")
    truth = json.loads((tmp_path / "city.truth.json").read_text(encoding="utf-8"))
    assert truth["messages"]["total"] == summary["messages"]
    assert truth["config"]["days"] == 40


def test_file_prints_a_table(tmp_path: Path) -> None:
    truth = tmp_path / "elsewhere.json"
    args = ["file", str(tmp_path / "c.jsonl"), *SMALL_OPTIONS, "--quiet", "--truth", str(truth)]
    result = CliRunner().invoke(simulate_app, args)
    assert result.exit_code == 0, result.output
    assert "deteriorating" in result.output and "license" in result.output
    assert truth.exists()


@pytest.mark.parametrize(
    "options",
    [["--start", "2019-06-01"], ["--error-rate", "0.9"], ["--start", "yesterday"]],
)
def test_bad_options_are_configuration_errors(tmp_path: Path, options: list[str]) -> None:
    result = CliRunner().invoke(simulate_app, ["file", str(tmp_path / "x.jsonl"), *options])
    assert isinstance(result.exception, ConfigurationError)
