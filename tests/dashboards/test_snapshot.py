"""The offline snapshot: drawn from the panel SQL, self-contained, and a browser shows it."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from creditbrain.dashboards.city import INDICATORS
from creditbrain.dashboards.snapshot import render_snapshot
from creditbrain.infra.store import Store
from tests.dashboards.history import END

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AS_OF = END - timedelta(seconds=1)


def screenshot(html: Path, png: Path, profile: Path) -> None:
    """Open ``html`` in headless Chromium and save what it shows."""
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1400,2000",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.integration
def test_snapshot_draws_charts_from_the_store(history: Store, tmp_path: Path) -> None:
    page = render_snapshot(history, tmp_path, AS_OF).read_text()
    assert page.count("<svg") >= 6  # bar and line charts, not tables only
    assert "<polyline" in page and "<rect" in page
    for indicator in INDICATORS:
        assert indicator.name in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page
    assert "No data" not in page


@pytest.mark.integration
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_headless_chromium_renders_the_snapshot(history: Store, tmp_path: Path) -> None:
    html = render_snapshot(history, tmp_path / "out", AS_OF)
    png = tmp_path / "city-overview.png"
    screenshot(html, png, tmp_path / "profile")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000  # a blank page compresses to a few kilobytes
