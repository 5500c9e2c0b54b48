"""The README, CONTRIBUTING.md and the guides in docs/ stay true to the code: every
Python example and command a user would paste is run here, links point at files that
exist, and the docs build (``mkdocs build --strict``) passes.

A fenced block in ``python``, ``bash`` or ``sh`` is run unless the line before it is
``<!-- not run: why, and the test that covers it -->`` (a server that blocks, a run of
minutes). Python blocks of one page run in order in one fresh interpreter, in a folder
holding ``corpus/`` (the default corpus) and ``my-docs/``; shell blocks run with
``bash -e`` from the repository root. Both get an index of their own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CORPUS, REPO

PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
RUN = {"python", "bash", "sh"}
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<why>.*?)\s*-->[ \t]*\n\Z")
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
README_LIMIT = 10 * 1024


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    not_run: str | None
    """Why it is not run (the ``<!-- not run: ... -->`` before it), or None."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()]
        skip = NOT_RUN.search(before)
        found.append(
            Block(
                page,
                before.count("\n") + 2,
                m["lang"],
                m["body"],
                skip["why"] if skip else None,
            )
        )
    return found


ALL = [b for page in PAGES for b in blocks(page)]
PYTHON = {p: [b for b in blocks(p) if b.lang == "python" and b.not_run is None] for p in PAGES}
SHELL = [b for b in ALL if b.lang in {"bash", "sh"} and b.not_run is None]


def name(page: Path) -> str:
    return str(page.relative_to(REPO))


def test_the_pages_exist_and_hold_examples_that_run():
    """The checks below see real blocks (none found would pass them all)."""
    assert (REPO / "docs" / "index.md").exists()
    assert sum(len(v) for v in PYTHON.values()) >= 5
    assert len(SHELL) >= 3


@pytest.mark.parametrize("block", [b for b in ALL if b.not_run is not None], ids=lambda b: b.where)
def test_a_block_left_unrun_says_why_and_what_covers_it(block):
    assert block.lang in RUN, f"{block.where}: only python/bash blocks are run; no marker needed"
    assert "tests/" in block.not_run or "benchmarks/" in block.not_run, (
        f"{block.where}: say which test or benchmark covers it: {block.not_run!r}"
    )


@pytest.fixture
def workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A folder as the examples expect it, and an environment with an index of its own."""
    shutil.copytree(CORPUS, tmp_path / "corpus")
    (tmp_path / "my-docs").mkdir()
    (tmp_path / "my-docs" / "notes.md").write_text(
        "# Notes\n\nThe harbour festival opens with a lantern parade along the old quay.\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "HF_HUB_OFFLINE": "1",
    }
    return tmp_path, env


RUNNER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for where, body in json.load(open(sys.argv[1])):
    try:
        exec(compile(body, where, "exec"), namespace)
    except Exception:
        traceback.print_exc()
        sys.exit(f"the example at {where} failed")
"""


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p, b in PYTHON.items() if b], ids=name)
def test_python_examples_run(page, workdir):
    folder, env = workdir
    script = folder / "examples.json"
    script.write_text(json.dumps([(b.where, b.body) for b in PYTHON[page]]))
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(script)],
        cwd=folder,
        env={**env, "RAG_CORPUS_DIR": str(folder / "corpus")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]


@pytest.mark.slow
@pytest.mark.parametrize("block", SHELL, ids=lambda b: b.where)
def test_shell_commands_run(block, workdir):
    _, env = workdir
    done = subprocess.run(
        ["bash", "-e", "-c", block.body],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{block.where}\n{done.stdout[-3000:]}{done.stderr[-5000:]}"


@pytest.mark.parametrize("page", [REPO / "README.md", REPO / "CONTRIBUTING.md"], ids=name)
def test_links_of_the_front_pages_point_at_files_that_exist(page):
    """(Links inside docs/ are checked by the strict docs build.)"""
    for m in LINK.finditer(page.read_text()):
        target = m["target"].split("#")[0]
        if target and not re.match(r"[a-z]+:", target):
            assert (page.parent / target).exists(), f"{name(page)} links to missing {target}"


def test_the_readme_is_a_front_door_that_links_every_guide():
    readme = REPO / "README.md"
    assert readme.stat().st_size <= README_LIMIT
    linked = {m["target"].split("#")[0] for m in LINK.finditer(readme.read_text())}
    guides = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")} - {"docs/index.md"}
    assert not guides - linked, f"README links none of {sorted(guides - linked)}"


def test_the_settings_guide_lists_every_setting():
    from rag import Settings

    guide = (REPO / "docs" / "settings.md").read_text()
    missing = [f for f in Settings.model_fields if f"`RAG_{f.upper()}`" not in guide]
    assert not missing, f"docs/settings.md does not list RAG_ {missing}"


def test_the_docs_build_strictly(tmp_path):
    """A broken link, a missing page or a page left out of the nav fails the build."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "index.html").exists()


def test_notes_hold_records_only():
    """Code lives where it runs and is tested (evals/experiments/, benchmarks/); notes/
    keeps what was measured. A retired script stays in git history, named by its note."""
    code = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "notes").rglob("*")
        if p.suffix in {".py", ".sh", ".patch"}
    )
    assert not code, f"code in notes/: {code}; move it to evals/experiments/ or benchmarks/"
