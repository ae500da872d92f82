"""Shared fixtures, one module per real system (Quix-style fixture modules)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.store", "tests.fixtures.serve"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, then the other integration tests, then the rest.

    `make test` hands whole files to its workers in this order (``--dist loadfile
    --no-loadscope-reorder``; xdist would otherwise put the files with the most tests
    first): the longest start at once and the many short files fill the gaps, instead
    of one long file running alone at the end. Within a file, tests keep their order.
    """
    items.sort(key=_rank)


#: The files that took longest in measured runs (``--durations``), longest first: each
#: pushes a simulated city through ``creditbrain serve`` and reads it all back.
LONGEST = (
    "tests/engine/test_drivers_agree.py",
    "tests/reliability/test_personal_data.py",
    "tests/reliability/test_bad_input.py",
    "tests/reliability/test_faults.py",
    "tests/streams/test_stream_integration.py",
    "tests/infra/test_deploy_cli.py",
    "tests/streams/test_models_stream.py",
    "tests/streams/test_metric_e2e.py",
    "tests/streams/test_scale_out.py",
    "tests/dashboards/test_snapshot.py",
)


def _rank(item: pytest.Item) -> tuple[int, int]:
    path = item.nodeid.split("::", 1)[0]
    if path in LONGEST:
        return 0, LONGEST.index(path)
    return (1 if _integration(item) else 2), 0


#: Fixtures that start real systems; tests using them are integration tests, marked or not.
_REAL_SYSTEMS = frozenset({"embedded_broker", "serve_factory"})


def _integration(item: pytest.Item) -> bool:
    if item.get_closest_marker("integration") is not None:
        return True
    return not _REAL_SYSTEMS.isdisjoint(getattr(item, "fixturenames", ()))
