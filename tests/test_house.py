"""The house rules of rag/ that keep it easy to change, checked on every run."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO

RAG = REPO / "rag"
MAX_CLASS, MAX_FUNCTION = 300, 80


def sizes(kind: type) -> list[tuple[int, str]]:
    found = []
    for path in sorted(RAG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, kind):
                lines = node.end_lineno - node.lineno + 1
                found.append((lines, f"{path.relative_to(REPO)}:{node.lineno} {node.name}"))
    return sorted(found, reverse=True)


def test_no_class_needs_a_scroll_bar() -> None:
    assert [s for s in sizes(ast.ClassDef) if s[0] > MAX_CLASS] == []


def test_no_function_is_over_eighty_lines() -> None:
    long = [s for s in sizes(ast.FunctionDef) + sizes(ast.AsyncFunctionDef) if s[0] > MAX_FUNCTION]
    assert long == []


def test_server_mode_is_decided_in_the_client_factory_alone() -> None:
    """Only the settings (``chroma_host``, shown as ``settings.chroma.host``) and the client
    factory name the server's host."""
    asking = [
        str(p.relative_to(REPO))
        for p in sorted(RAG.rglob("*.py"))
        if re.search(r"chroma[._]host", p.read_text(encoding="utf-8"))
    ]
    assert asking == ["rag/config.py", "rag/index/client.py"]


def test_caches_are_invalidated_explicitly_not_by_poking_dict() -> None:
    assert [p for p in RAG.rglob("*.py") if "__dict__.pop" in p.read_text()] == []
