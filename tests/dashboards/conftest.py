"""A store filled once with a simulated city's year, shared by the dashboard tests.

Filling takes a couple of seconds, so the history is built once per module on a
database of its own in the session's chDB path (chDB allows one path per process)
and dropped afterwards, like the ``store`` fixture does per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from creditbrain.infra.store import Store, connect, migrate
from tests.dashboards.case_history import fill_cases
from tests.dashboards.history import fill
from tests.fixtures.store import drop_database


@pytest.fixture(scope="module")
def history(chdb_dsn: str) -> Iterator[Store]:
    """A migrated store holding a simulated city's 2025 (about 4,000 records)."""
    with connect(chdb_dsn, f"t_{uuid.uuid4().hex}") as store:
        migrate(store)
        try:
            fill(store)
            fill_cases(store)
            yield store
        finally:
            drop_database(store)
