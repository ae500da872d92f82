"""``creditbrain demo`` end to end, as the README's first command runs it, on a small city.

The command starts its own embedded broker and ``creditbrain serve``, plays a
simulated city onto the input topics, waits for the worker and the sink, prints what
the store holds and writes the offline dashboard. Then ``creditbrain check`` reads the
subject the summary names from the same data directory, as a user would next.
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest

from creditbrain.engine.replay import score_lines
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from tests.fixtures.serve import CLI

pytestmark = pytest.mark.integration

SCALE, SEED = 0.003, 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _figure(label: str, text: str) -> int:
    found = re.search(rf"{label}[\s│┃|]+([\d,]+)", text)  # a rich table: cells between bars
    assert found, (label, text[-2000:])
    return int(found.group(1).replace(",", ""))


def test_the_demo_runs_the_city_through_and_its_subject_can_be_checked(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    env.update(
        CREDITBRAIN_DATA_DIR=str(tmp_path / "demo"),
        CREDITBRAIN_API__PORT=str(_free_port()),
        CREDITBRAIN_PSEUDONYM_KEY="test-pseudonym-key",
        COLUMNS="160",
    )
    run = subprocess.run(
        [*CLI, "demo", "--scale", str(SCALE), "--seed", str(SEED), "--rate", "0", "--fresh"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-3000:]

    # What the summary says the store holds is what the offline reference makes of the city.
    key = b"test-pseudonym-key"
    city = Simulator(CityConfig.scaled(SCALE, seed=SEED), pseudonym_key=key).events()
    offline = score_lines(
        (e.value for e in city), ParseContext(pseudonym_key=key), DEFAULT_SCORECARD
    )
    assert _figure("events stored", out) == offline.applied > 0
    assert _figure("dead letters", out) == sum(offline.rejected.values())
    assert "warnings" in out and "open of" in out
    snapshot = re.search(r"offline dashboard: (\S+)", out)
    assert snapshot and Path(snapshot.group(1)).is_file()

    example = re.search(r"creditbrain check (\S+)", out)
    assert example, out[-2000:]
    check = subprocess.run(
        [*CLI, "check", example.group(1), "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr
    assert "red" in check.stdout.lower()
