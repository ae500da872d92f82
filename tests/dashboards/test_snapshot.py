"""The offline snapshot: drawn from the panel SQL, self-contained, and a browser shows it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

import pytest

from creditbrain.dashboards.city import INDICATORS
from creditbrain.dashboards.names import text
from creditbrain.dashboards.snapshot import render_snapshot
from creditbrain.infra.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 1920)

#: Measures, in the page as the browser laid it out, every panel that is cut off: wider
#: than its box (content hidden or scrolled), or reaching past the window's right edge.
_MEASURE = """
<script>
window.addEventListener("load", () => {
  const cut = [];
  for (const panel of document.querySelectorAll(".panel")) {
    const box = panel.getBoundingClientRect();
    const title = panel.querySelector("h2").textContent;
    if (panel.scrollWidth > panel.clientWidth + 1) cut.push(["overflow", title]);
    if (box.right > document.documentElement.clientWidth + 1) cut.push(["offscreen", title]);
    for (const svg of panel.querySelectorAll("svg")) {
      if (svg.getBoundingClientRect().right > box.right + 1) cut.push(["chart", title]);
    }
  }
  const out = document.createElement("pre");
  out.id = "layout";
  out.textContent = JSON.stringify({cut, panels: document.querySelectorAll(".panel").length,
                                    text: document.body.innerText.slice(0, 4000)});
  document.body.appendChild(out);
});
</script>
"""


def chromium(args: list[str], profile: Path) -> str:
    """Run headless Chromium with ``args``; its standard output."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    return done.stdout.decode("utf-8")


@pytest.mark.integration
def test_snapshot_draws_charts_from_the_store(history: Store, tmp_path: Path) -> None:
    page = render_snapshot(history, tmp_path).read_text()
    assert page.count("<svg") >= 6  # bar and line charts, not tables only
    assert "<polyline" in page and "<rect" in page
    for indicator in INDICATORS:
        assert text(indicator.name, "zh") in page
        assert escape(text(indicator.target, "zh")) in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page
    english = render_snapshot(history, tmp_path / "en", lang="en").read_text()
    assert "Credit records held" in english and "Donggang" in english


@pytest.mark.integration
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", WIDTHS)
def test_headless_chromium_shows_every_panel_whole_and_in_chinese(
    history: Store, tmp_path: Path, width: int
) -> None:
    out = tmp_path / "out"
    city = render_snapshot(history, out)
    pages = [
        city,
        *sorted(out.glob("district-grid-*.html"))[:1],
        *sorted(out.glob("subject-*"))[:1],
    ]
    pages += [out / "data-quality.html", *sorted(out.glob("sector-supervision-*"))[:1]]
    for page in pages:
        measured = page.with_name(page.stem + "-measured.html")
        measured.write_text(page.read_text().replace("</body>", _MEASURE + "</body>"))
        dom = chromium(
            ["--dump-dom", "--virtual-time-budget=5000", f"--window-size={width},2000",
             measured.as_uri()],
            tmp_path / "profile",
        )  # fmt: skip
        found = re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S)
        assert found, f"{page.name}: the layout was not measured"
        layout = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        assert layout["panels"] > 3, page.name
        assert layout["cut"] == [], (page.name, width, layout["cut"])
        assert "城市信用大脑" in layout["text"], page.name
    png = tmp_path / f"city-overview-zh-{width}.png"
    chromium([f"--screenshot={png}", f"--window-size={width},2600", city.as_uri()], tmp_path / "p2")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000  # a blank page compresses to a few kilobytes
