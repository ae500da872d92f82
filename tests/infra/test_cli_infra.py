"""``creditbrain db ...`` and ``creditbrain broker ...`` through typer's test runner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from creditbrain.cli.infra import broker_app, db_app
from creditbrain.infra.store import connect
from creditbrain.settings import get_settings
from tests.fixtures.store import drop_database, on_every_store

pytestmark = pytest.mark.integration

app = typer.Typer()
app.add_typer(broker_app, name="broker")
app.add_typer(db_app, name="db")
runner = CliRunner()


@pytest.fixture
def database(store_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Settings that point at a fresh database on the store under test."""
    name = f"t_{uuid.uuid4().hex}"
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DSN", store_dsn)
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DATABASE", name)
    get_settings.cache_clear()
    yield name
    get_settings.cache_clear()
    with connect(store_dsn, name) as store:
        drop_database(store)


@on_every_store
def test_db_migrate_then_up_to_date(database: str) -> None:
    first = runner.invoke(app, ["db", "migrate"])
    assert first.exit_code == 0, first.output
    assert f"{database}: applied 0001_events" in first.output

    second = runner.invoke(app, ["db", "migrate"])
    assert second.exit_code == 0, second.output
    assert "already up to date" in second.output

    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0, status.output
    assert "0001_events" in status.output
    assert "pending" not in status.output


def test_a_bad_dsn_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DSN", "ftp://example.org")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["db", "migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: unsupported ClickHouse DSN")
    assert len(result.output.strip().splitlines()) == 1


def test_every_command_has_help() -> None:
    for command in (["broker", "up"], ["db", "migrate"], ["db", "status"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
