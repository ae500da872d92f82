"""``creditbrain backtest FILE --compare``: a candidate against the built-in policies, on a file."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.core.errors import ConfigurationError

DATA = Path(__file__).resolve().parents[1] / "data" / "score_small.jsonl"
RAISED = {"*": {"rules": {"wage_arrears": {"thresholds": {"red_workers": 20}}}}}


def test_compare_on_a_file_counts_as_two_backtests(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.json"
    candidate.write_bytes(orjson.dumps(RAISED))
    runner = CliRunner()
    compared = runner.invoke(
        app, ["backtest", str(DATA), "--policies", str(candidate), "--compare"]
    )
    assert compared.exit_code == 0, compared.output
    found = orjson.loads(compared.stdout)
    # 12 workers is red by default, orange once red takes 20: one red warning fewer.
    assert found["candidate"]["by_level"].get("red", 0) == found["live"]["by_level"]["red"] - 1
    assert {(s["subject_type"], s["level"]) for s in found["removed"]} >= {("person", "red")}
    for side, policies in (("live", []), ("candidate", ["--policies", str(candidate)])):
        plain = runner.invoke(app, ["backtest", str(DATA), "--no-models", "--json", *policies])
        summary = orjson.loads(plain.stdout.splitlines()[-1])["summary"]
        assert summary["warnings_by_level"] == found[side]["by_level"]
    both = runner.invoke(app, ["backtest", str(DATA), "--from-store"])
    assert isinstance(both.exception, ConfigurationError) and "not both" in str(both.exception)
