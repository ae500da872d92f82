"""``creditbrain cases``: deadlines on the calendar, acting on a case, the inspection CSV."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from creditbrain.alerts.cases import CaseConfig, join
from creditbrain.alerts.cases.case import example_warning
from creditbrain.cli import app
from creditbrain.core.workdays import default_calendar
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.store import Store
from creditbrain.settings import get_settings
from tests.api.conftest import add_subject, audit_rows


@pytest.fixture
def on_store(store: Store, chdb_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DSN", chdb_dsn)
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DATABASE", store.database)
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def test_deadline_friday_before_the_spring_festival() -> None:
    result = CliRunner().invoke(app, ["cases", "deadline", "2026-02-13T15:00+08:00", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2026-02-25T17:30:00+08:00"
    both = CliRunner().invoke(
        app, ["cases", "deadline", "2026-02-13T15:00", "--days", "1", "--hours", "2"]
    )
    assert both.exit_code == 2


def test_act_list_show_and_inspections(on_store: Store) -> None:
    step = join(
        None, example_warning("c1", "2026-03-02T10:00:00+08:00"), CaseConfig(), default_calendar()
    )
    assert step is not None
    CaseRepository(on_store).save(step)
    case_id = step.case.case_id
    runner = CliRunner()
    done = runner.invoke(
        app, ["cases", "act", case_id, "dispose", "--as", "wang", "--disposition", "false_alarm"]
    )
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("new -> disposed")
    listed = runner.invoke(app, ["cases", "list", "--state", "disposed"])
    assert case_id in listed.output
    shown = runner.invoke(app, ["cases", "show", case_id])
    assert "disposed" in shown.output and "by wang" in shown.output
    assert audit_rows(on_store, "case_dispose")[0]["actor"] == "wang"
    for _ in range(10):
        add_subject(on_store, sector="food_drug", grade="D")
    csv_text = runner.invoke(
        app, ["cases", "inspections", "food_drug", "2026-03", "--seed", "5", "--as", "li"]
    )
    assert csv_text.exit_code == 0, csv_text.output
    assert csv_text.output.count("\n") == 1 + 3  # header, then 30 % of 10 D-grade subjects
    assert len(audit_rows(on_store, "inspection_list")) == 1
