"""Migration files and their rendering; no engine needed."""

from __future__ import annotations

import doctest
import re
from types import ModuleType

import pytest

from creditbrain.infra import broker, migrate
from creditbrain.infra.migrate import available_migrations, render_migration, split_statements


@pytest.mark.parametrize("module", [migrate, broker], ids=lambda m: m.__name__)
def test_doctests(module: ModuleType) -> None:
    # infra/ is not among pyproject's testpaths, so its doctests run from here.
    failed, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0
    assert failed == 0


def test_files_are_numbered_without_gaps() -> None:
    numbers = [int(m.name[:4]) for m in available_migrations()]
    assert numbers == list(range(1, len(numbers) + 1))


def test_plain_rendering_leaves_no_placeholder() -> None:
    for migration in available_migrations():
        rendered = render_migration(migration.sql, "creditbrain", None)
        assert not re.search(r"\{(database|on_cluster|replicated)\}", rendered)
        assert "ON CLUSTER" not in rendered
        assert "Replicated" not in rendered


def test_cluster_rendering_replicates_every_table() -> None:
    for migration in available_migrations():
        for statement in split_statements(render_migration(migration.sql, "cb", "city")):
            if re.search(r"CREATE VIEW IF NOT EXISTS `cb`\.\w+ ON CLUSTER `city`", statement):
                continue  # a view holds no rows
            assert re.search(r"CREATE TABLE IF NOT EXISTS `cb`\.\w+ ON CLUSTER `city`", statement)
            assert re.search(r"ENGINE = Replicated\w*MergeTree", statement)
