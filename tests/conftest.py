"""Shared fixtures, one module per real system (Quix-style fixture modules)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.store", "tests.fixtures.serve"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Integration tests first, each file's tests still in their order.

    `make test` hands whole files to its workers in this order (``--dist loadfile``):
    the long files (brokers, child processes) then start at once, and the many short
    ones fill the gaps, instead of one long file running alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("integration") is None)
