"""Shared fixtures, one module per real system (Quix-style fixture modules)."""

pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.store", "tests.fixtures.serve"]
