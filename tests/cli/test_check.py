"""``creditbrain check`` on a filled store: names, reasons' records, times in +08:00.

The store is the session's chDB store (a database of its own), read in-process,
because chDB lets one process hold a data path; one test fills a store of its own in
another process and reads it through the installed ``creditbrain``. The error paths
(bad id, no store, nothing created) run through the script in test_console_script.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditbrain.alerts.rules import RULE_NAMES
from creditbrain.cli import app
from creditbrain.infra.store import Store
from creditbrain.schemas.events import KINDS
from creditbrain.schemas.names import KIND_NAMES, RULE_LABELS
from creditbrain.settings import get_settings
from tests.cli.test_console_script import run

CODE = "91350100M000100Y43"
PENALTY = str(uuid.UUID(int=1))
ARREARS = str(uuid.UUID(int=2))
# 2026-03-04 17:30 UTC is already 2026-03-05 in the city.
LATE_EVENING = datetime(2026, 3, 4, 17, 30, tzinfo=UTC)

runner = CliRunner()


def fill(store: Store) -> None:
    reasons = [
        {"event_id": PENALTY, "kind": "penalty", "effect": -20},
        {"event_id": ARREARS, "kind": "wage_arrears", "effect": -100},
    ]
    common = {"subject_id": CODE, "subject_type": "enterprise", "subject_name": "日照某建材公司",
              "sector": "construction", "district": "371102"}  # fmt: skip
    store.insert_rows(
        "entity_state",
        [{**common, "score": 880, "grade": "B", "reasons": json.dumps(reasons), "records": 2,
          "last_event_at": LATE_EVENING, "version": 1}],
        [*common, "score", "grade", "reasons", "records", "last_event_at", "version"],
    )  # fmt: skip
    events = [
        (PENALTY, "penalty", "municipal_market_regulation",
         {"decision_no": "日市监罚〔2026〕1号", "severity": "general"}),
        (ARREARS, "wage_arrears", "human_resources_bureau",
         {"amount_cny": 90000, "workers_affected": 4}),
    ]  # fmt: skip
    store.insert_rows(
        "events",
        [{**common, "event_id": uuid.UUID(event_id), "kind": kind, "source": source,
          "occurred_at": LATE_EVENING, "reported_at": LATE_EVENING,
          "payload": json.dumps(payload, ensure_ascii=False), "topic": "credit.events.x",
          "partition": 0, "offset": n}
         for n, (event_id, kind, source, payload) in enumerate(events)],
        [*common, "event_id", "kind", "source", "occurred_at", "reported_at", "payload",
         "topic", "partition", "offset"],
    )  # fmt: skip
    store.insert_rows(
        "alerts",
        [{**common, "alert_id": "a1", "rule": "wage_arrears", "level": "orange",
          "status": "open", "event_type": "cn.creditbrain.warning.opened", "score": 880,
          "grade": "B", "previous_grade": "A", "reasons": "[]", "first_event_at": LATE_EVENING,
          "event_time": LATE_EVENING, "acknowledged_by": "", "acknowledged_at": None,
          "version": 1}],
        [*common, "alert_id", "rule", "level", "status", "event_type", "score", "grade",
         "previous_grade", "reasons", "first_event_at", "event_time", "acknowledged_by",
         "acknowledged_at", "version"],
    )  # fmt: skip
    place = {k: v for k, v in common.items() if k != "subject_name"}
    store.insert_rows(
        "scores",
        [{**place, "as_of": LATE_EVENING, "score": 880, "grade": "B", "previous_score": 980,
          "previous_grade": "A", "event_id": ARREARS, "cause": "event",
          "reasons": json.dumps(reasons)}],
        [*place, "as_of", "score", "grade", "previous_score", "previous_grade", "event_id",
         "cause", "reasons"],
    )  # fmt: skip


@pytest.fixture
def filled(store: Store, chdb_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    fill(store)
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DSN", chdb_dsn)
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DATABASE", store.database)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


@pytest.mark.integration
def test_check_speaks_chinese_by_default_and_english_on_request(filled: Store) -> None:
    chinese = runner.invoke(app, ["check", CODE])
    assert chinese.exit_code == 0, chinese.output
    for shown in ("信用分", "B 良", "企业 · 工程建设 · 东港区", "行政处罚", "拖欠工资", "橙色",
                  "新发", "新记录", "2026-03-05 01:30:00+08:00"):  # fmt: skip
        assert shown in chinese.output, shown
    assert "wage_arrears" not in chinese.output
    assert "评分卡: 默认\n" in chinese.output
    english = runner.invoke(app, ["check", CODE, "--lang", "en"])
    assert english.exit_code == 0, english.output
    for shown in ("score", "construction · Donggang", "administrative penalty", "orange"):
        assert shown in english.output, shown
    assert "行政处罚" not in english.output


@pytest.mark.integration
def test_check_names_the_scorecard_overrides(
    filled: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorecard = tmp_path / "scorecard.toml"
    scorecard.write_text('[sectors.construction.deductions]\n"wage_arrears" = 120\n')
    monkeypatch.setenv("CREDITBRAIN_SCORECARD_FILE", str(scorecard))
    get_settings.cache_clear()
    shown = runner.invoke(app, ["check", CODE, "--lang", "en"])
    assert shown.exit_code == 0, shown.output
    line = "scorecard: default + sectors.construction (deductions.wage_arrears = 120)"
    assert line in shown.output
    as_json = json.loads(runner.invoke(app, ["check", CODE, "--json"]).output)
    assert as_json["scorecard"] == {
        "overrides": ["sectors.construction"],
        "changes": {"deductions.wage_arrears": 120},
    }


@pytest.mark.integration
def test_each_reason_shows_its_date_department_and_document(filled: Store) -> None:
    shown = runner.invoke(app, ["check", CODE])
    penalty = next(line for line in shown.output.splitlines() if "行政处罚" in line)
    for part in ("2026-03-05", "municipal_market_regulation", "日市监罚〔2026〕1号", "-20"):
        assert part in penalty, penalty
    as_json = runner.invoke(app, ["check", CODE, "--json"])
    reasons = json.loads(as_json.output)["state"]["reasons"]
    assert reasons[1] == {
        "event_id": ARREARS,
        "kind": "wage_arrears",
        "effect": -100,
        "date": "2026-03-05",
        "department": "human_resources_bureau",
        "document": "",
    }


def test_every_kind_and_rule_has_a_name() -> None:
    assert set(KIND_NAMES) == set(KINDS)
    assert set(RULE_LABELS) == set(RULE_NAMES)


def test_an_unknown_language_is_a_usage_error() -> None:
    done = runner.invoke(app, ["check", CODE, "--lang", "fr"])
    assert done.exit_code == 2


FILL = """
import sys
from creditbrain.infra.store import connect, migrate
from tests.cli.test_check import fill
with connect(sys.argv[1], "creditbrain") as store:
    migrate(store)
    fill(store)
"""


@pytest.mark.integration
def test_check_through_the_installed_script(tmp_path: Path) -> None:
    # A store of its own, filled by another process: chDB holds a path per process.
    dsn = f"chdb://{tmp_path / 'store'}"
    root = Path(__file__).parents[2]
    filled = subprocess.run(
        [sys.executable, "-c", FILL, dsn], cwd=root, capture_output=True, text=True, check=False
    )
    assert filled.returncode == 0, filled.stderr
    done = run(["check", CODE, "--lang", "en"], tmp_path, CREDITBRAIN_CLICKHOUSE__DSN=dsn)
    assert done.returncode == 0, done.stderr
    assert "administrative penalty" in done.stdout
    assert "2026-03-05 01:30:00+08:00" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]
