"""The shape of the package: layers, import cycles, the packaging list, the tables of contents.

Every module's imports are read with :mod:`ast` (no module is imported), including
those inside functions, so a late import cannot hide an upward dependency. Layers,
bottom up (ARCHITECTURE.md): ``core`` → ``schemas`` → ``simulator`` → ``models``,
``alerts`` → ``engine`` → ``streams``, ``infra`` → ``dashboards`` → the front door
(``creditbrain/``: CLI, API, run-time assembly, settings). A module may import its
own layer and the ones below. The simulator needs only the contract (schemas) and
the models' evaluation runs on simulated cities, so it sits between the two; the
dashboards read the store (infra), so they sit above it.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONT_DOOR = "creditbrain"

#: Rank of each part; a module may import only parts of its rank or lower.
LAYERS: dict[str, int] = {
    "core": 0,
    "schemas": 1,
    "simulator": 2,
    "models": 3,
    "alerts": 3,
    "engine": 4,
    "streams": 5,
    "infra": 5,
    "dashboards": 6,
    FRONT_DOOR: 7,
}


def _setuptools() -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools: dict[str, object] = config["tool"]["setuptools"]
    return setuptools


def _package_dirs() -> dict[str, Path]:
    """Top-level import names and their folders, as pyproject maps them."""
    mapping = _setuptools()["package-dir"]
    assert isinstance(mapping, dict)
    return {name: ROOT / folder for name, folder in mapping.items() if name.count(".") <= 1}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


def _modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    dirs = _package_dirs()
    for package, folder in dirs.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder)
            parts = list(relative.with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join([package, *parts])
            found[name] = Module(name, path, is_package)
    return found


MODULES = _modules()


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base.pop()
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(module: Module, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    origin = _resolve(module, node)
    for alias in node.names:
        # `from package import submodule` depends on the submodule itself.
        child = f"{origin}.{alias.name}"
        yield child if child in MODULES else origin


def _imports(module: Module) -> Iterator[Import]:
    tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(module, child):
                    if target.split(".")[0] == FRONT_DOOR:
                        yield Import(module.name, target, child.lineno, in_function)
            nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, in_function or nested)

    yield from visit(tree, in_function=False)


IMPORTS = [found for module in MODULES.values() for found in _imports(module)]


def _part_of(target: str) -> str:
    parts = target.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else FRONT_DOOR


def test_the_package_is_found() -> None:
    # Guards the checks below against passing on an empty or misread tree.
    assert {"creditbrain.core.errors", "creditbrain.schemas.state", "creditbrain.cli"} <= set(
        MODULES
    )
    assert len(IMPORTS) > 300


def test_every_part_has_a_layer() -> None:
    parts = {name.split(".")[1] for name in _package_dirs() if "." in name}
    assert parts <= set(LAYERS), "place the new part in LAYERS (and in ARCHITECTURE.md)"


def test_nothing_imports_upward() -> None:
    upward = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in IMPORTS
        if LAYERS[_part_of(found.target)] > LAYERS[_part_of(found.source)]
    ]
    assert upward == []


def test_no_part_imports_the_front_door() -> None:
    front = [
        f"{found.source}:{found.line} imports {found.target}"
        for found in IMPORTS
        if _part_of(found.source) != FRONT_DOOR and _part_of(found.target) == FRONT_DOOR
    ]
    assert front == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or ``None``.

    >>> _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    ['a', 'b', 'c', 'a']
    >>> _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    True
    """
    finished: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        path.append(node)
        for step in sorted(graph.get(node, ())):
            if step in path:
                return [*path[path.index(step) :], step]
            if step not in finished and (found := visit(step)) is not None:
                return found
        finished.add(path.pop())
        return None

    for start in sorted(graph):
        if start not in finished and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycles() -> None:
    # Module-level imports (TYPE_CHECKING blocks included: a cycle there is a cycle
    # in the design, even if it never runs); an import deferred into a function is
    # how a cycle is hidden, not removed, but it cannot break loading.
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for found in IMPORTS:
        if not found.in_function and found.target in MODULES and found.target != found.source:
            graph[found.source].add(found.target)
    assert _cycle(graph) is None


def test_every_package_is_packaged() -> None:
    # A wheel holds only the packages pyproject lists; a missing sub-package works
    # in the editable checkout and fails in the installed image.
    listed = _setuptools()["packages"]
    assert isinstance(listed, list)
    packages = {name for name, module in MODULES.items() if module.is_package}
    assert packages == set(listed)


_CONTENTS_EXEMPT = re.compile(r"^_")


@pytest.mark.parametrize(
    "package", sorted(name for name, module in MODULES.items() if module.is_package)
)
def test_package_docstring_lists_its_modules(package: str) -> None:
    # Each package's face reads as a table of contents: every module in it is named
    # in the __init__ docstring, so a reader finds a room without opening them all.
    module = MODULES[package]
    docstring = ast.get_docstring(ast.parse(module.path.read_text(encoding="utf-8"))) or ""
    children = {
        name.rsplit(".", 1)[1]
        for name in MODULES
        if name.rsplit(".", 1)[0] == package and name != package
    }
    missing = sorted(
        child
        for child in children
        if not _CONTENTS_EXEMPT.match(child) and not re.search(rf"\b{child}\b", docstring)
    )
    stale = sorted(set(re.findall(r":mod:`\.(\w+)`", docstring)) - children)
    assert "placeholder" not in docstring
    assert missing == [], f"{package}'s docstring does not name {missing}"
    assert stale == [], f"{package}'s docstring names {stale}, which it does not hold"
