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
    # seven on the store, and the processes' metrics on Prometheus (cb-ops-metrics)
    assert len(list(tmp_path.glob("*/*.json"))) == 8
    assert "城市信用大脑" in (tmp_path / "cb-city" / "cb-city-overview.json").read_text()
    english = tmp_path / "en"
    result = CliRunner().invoke(dashboards_app, ["build", "--out", str(english), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Credit brain" in (english / "cb-city" / "cb-city-overview.json").read_text()


@pytest.mark.integration
def test_snapshot_reads_the_given_store(history: Store, chdb_dsn: str, tmp_path: Path) -> None:
    args = ["snapshot", "--out", str(tmp_path), "--dsn", chdb_dsn]
    args += ["--database", history.database]
    result = CliRunner().invoke(dashboards_app, args)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "city-overview.html").read_text()
    assert page.count("<svg") >= 6
    assert "离线快照，截至 2025-12-" in page  # the data's end, not today
