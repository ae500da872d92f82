"""Previews: a candidate policy over a simulated city's stored year, against the backtest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from creditbrain.cli import app as cli_app
from creditbrain.infra.store import Store
from creditbrain.settings import get_settings
from tests.api.conftest import FakePublisher, TestClient, audit_rows, key_header
from tests.dashboards.history import fill

pytestmark = pytest.mark.integration

SCOPE = "sector=food_drug|district=371102"
LOWER = {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}
WINDOW = {"until": "2025-12-31", "days": 365}


@pytest.fixture
def city(store: Store) -> Iterator[Store]:
    # Seed 12: two food_drug/371102 employers report wage arrears of 3 to 9 workers.
    fill(store, scale=0.02, seed=12)
    store.command("TRUNCATE TABLE audit")  # the fill's sample audit rows are not this test's
    yield store


def preview(client: TestClient, key: str, scope: str = SCOPE) -> object:
    body = {"scope": scope, "override": LOWER, "reason": "arrears season"} | WINDOW
    return client.post("/policies/preview", json=body, headers=key_header(key))


def test_a_lower_threshold_previews_more_red_warnings_as_the_backtest_counts(
    city: Store,
    client: TestClient,
    publisher: FakePublisher,
    tmp_path: Path,
    chdb_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DSN", chdb_dsn)
    monkeypatch.setenv("CREDITBRAIN_CLICKHOUSE__DATABASE", city.database)
    get_settings.cache_clear()
    started = preview(client, "k-food")
    assert started.status_code == 202, started.text  # a year is a job
    location = started.headers["location"]
    job = client.get(location, headers=key_header("k-food")).json()
    assert job["status"] == "done" and job["progress"] == 1.0, job
    result = job["result"]
    live, candidate = result["live"], result["candidate"]
    assert candidate["by_level"].get("red", 0) > live["by_level"].get("red", 0)
    red_added = [s for s in result["added"] if s["level"] == "red"]
    assert red_added and all(s["subject_id"] and "name" in s for s in red_added)
    assert set(candidate["by_district"]) <= {"371102"} and set(candidate["by_sector"]) <= {
        "food_drug"
    }
    assert publisher.sent == []  # a preview changes nothing
    # The same events and policies through `creditbrain backtest` count the same.
    for side, policies in ((live, None), (candidate, {SCOPE: LOWER})):
        assert _backtest_levels(tmp_path, policies) == side["by_level"]
    get_settings.cache_clear()
    [row] = audit_rows(city, "policy_preview")
    assert (row["actor"], row["subject_id"], row["purpose"]) == (
        "food-supervisor",
        SCOPE,
        "arrears season",
    )


def _backtest_levels(tmp_path: Path, policies: dict[str, object] | None) -> dict[str, int]:
    args = ["backtest", "--from-store", "--since", "2025-01-01", "--to", "2025-12-31"]
    args += ["--scope", SCOPE, "--no-models", "--json"]
    if policies is not None:
        path = tmp_path / "candidate.json"
        path.write_bytes(orjson.dumps(policies))
        args += ["--policies", str(path)]
    outcome = CliRunner().invoke(cli_app, args)
    assert outcome.exit_code == 0, outcome.output
    summary = orjson.loads(outcome.stdout.splitlines()[-1])["summary"]
    return dict(summary["warnings_by_level"])


def test_previews_are_scoped_keyed_and_every_attempt_audited(
    make_client: Callable[..., TestClient], store: Store
) -> None:
    client = make_client(writes_per_minute=1, write_burst=5)
    assert preview(client, "k-food", "sector=finance").status_code == 403
    assert preview(client, "k-food", "*").status_code == 403
    no_key = client.post("/policies/preview", json={"scope": SCOPE})
    assert no_key.status_code == 401
    short = {"scope": SCOPE, "override": LOWER, "reason": "r", "until": "2025-12-31", "days": 7}
    done = client.post("/policies/preview", json=short, headers=key_header("k-food"))
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert done.json()["result"]["live"]["warnings"] == 0  # nothing stored in that week
    unparsed = client.post(
        "/policies/preview", json=short | {"days": 0}, headers=key_header("k-food")
    )
    assert unparsed.status_code == 422
    assert preview(client, "k-food", "sector=").status_code == 422  # not a scope
    assert preview(client, "k-food").status_code == 429  # the burst of five is spent
    rows = audit_rows(store, "policy_preview")
    outcomes = [orjson.loads(str(row["details"]))["outcome"] for row in rows]
    assert outcomes == [403, 403, 401, 200, 422, 422, 429]
    assert [(row["actor"], row["subject_id"]) for row in rows] == [
        ("food-supervisor", "sector=finance"),
        ("food-supervisor", "*"),
        ("", SCOPE),
        *[("food-supervisor", SCOPE)] * 2,
        ("food-supervisor", "sector="),
        ("food-supervisor", SCOPE),
    ]
    assert [row["purpose"] for row in rows][:2] == ["arrears season"] * 2
    assert orjson.loads(str(rows[3]["details"]))["days"] == 7  # the accepted one: the window
    other = client.get(
        f"/policies/preview/{done.json()['id']}", headers=key_header("k-donggang-build")
    )
    assert other.status_code == 404
    assert (
        client.get(f"/policies/preview/{'0' * 32}", headers=key_header("k-food")).status_code == 404
    )
