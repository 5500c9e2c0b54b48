"""The package's layers: errors -> config -> documents -> index -> retrieve -> reading ->
history -> answer_cache -> answering -> library -> collection -> pipeline -> evaluation ->
serve. A module may import its own layer and those below it, never one above, and no
modules import each other in a circle (lazy imports inside functions included).
``rag/__init__.py`` is the front door and may import anything below it."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "rag"
LAYERS = [
    "rag.errors",
    "rag.config",
    "rag.documents",
    "rag.index",
    "rag.retrieve",
    "rag.reading",
    "rag.history",
    "rag.answer_cache",
    "rag.answering",
    "rag.library",
    "rag.collection",
    "rag.pipeline",
    "rag.evaluation",
    "rag.serve",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    """The index in LAYERS of the layer ``module`` belongs to."""
    for i, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return i
    raise AssertionError(f"{module} belongs to no layer: add it to a subpackage or to LAYERS")


def imported(path: Path) -> set[str]:
    """The rag modules a file imports, anywhere in it (a lazy import counts too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from rag.x import y` imports rag.x, or the submodule rag.x.y where one exists
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                for a in node.names
            ]
        else:
            continue
        found.update(n for n in names if n == "rag" or n.startswith("rag."))
    return found


GRAPH = {m: imported(p) for m, p in MODULES.items()}


def test_every_module_belongs_to_a_layer():
    for module in MODULES:
        if module != "rag":
            layer(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "rag"))
def test_no_module_imports_a_layer_above_its_own(module):
    above = {m for m in GRAPH[module] if m == "rag" or layer(m) > layer(module)}
    assert not above, f"{module} imports {sorted(above)}, above its layer"


def test_no_import_circle():
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in visiting:
            circle = [*visiting[visiting.index(module) :], module]
            raise AssertionError("import circle: " + " -> ".join(circle))
        if module in done:
            return
        visiting.append(module)
        for target in GRAPH.get(module, ()):
            if target in MODULES and target != module:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in MODULES:
        visit(module)


def test_the_graph_is_read_from_the_code():
    """The checks above see real edges (an empty graph would pass them all)."""
    assert "rag.reading.extractive" in GRAPH["rag.library"]
    assert "rag.index.embed" in GRAPH["rag.retrieve"]
    assert layer("rag.documents.formats.pdf") < layer("rag.reading.judge")


PACKAGES = sorted(m for m, p in MODULES.items() if p.name == "__init__.py")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_says_what_it_owns(package):
    docstring = ast.get_docstring(ast.parse(MODULES[package].read_text()))
    assert docstring and len(docstring) > 60, f"{package} has no docstring saying what it owns"
