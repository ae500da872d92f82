"""``creditbrain dashboards build / snapshot`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditbrain.cli.dashboards import dashboards_app
from creditbrain.infra.store import Store


def test_build_writes_one_file_per_dashboard(tmp_path: Path) -> None:
    result = CliRunner().invoke(dashboards_app, ["build", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*/*.json"))) == 6


@pytest.mark.integration
def test_snapshot_reads_the_given_store(history: Store, chdb_dsn: str, tmp_path: Path) -> None:
    args = ["snapshot", "--out", str(tmp_path), "--dsn", chdb_dsn]
    args += ["--database", history.database, "--now", "2025-12-31T23:59:59"]
    result = CliRunner().invoke(dashboards_app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "city-overview.html").read_text().count("<svg") >= 6
