"""One embedded index shared by processes: an app restarted, two started at once, an
app beside `rag ingest`.

The index must survive a restart without re-embedding, two apps starting together on the
same RAG_INDEX_DIR must leave it exactly as one clean ingest would, and a running app
finds what another process ingested while it ran.
"""

from __future__ import annotations

import re
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from gradio_client import Client

from benchmarks.load_chat import QUESTIONS, ask, close_client, new_client, start_app
from rag import RAG
from tests.conftest import ARTICLE, rag_cli

pytestmark = pytest.mark.slow
ZEBRA = "The zebra council meets on Thursdays in Lisbon."
UNCHANGED = re.compile(r"\b0 added\b.*\b1 unchanged\b")
"""The ingest report of an app whose one corpus file is already indexed."""


def logged(app, pattern: re.Pattern[str], timeout: float = 60) -> bool:
    """Whether the app's log shows ``pattern`` within ``timeout`` seconds (an existing
    index is checked in the background, after the chat is up)."""
    deadline = time.monotonic() + timeout
    while not pattern.search(app.log()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_the_index_survives_a_restart(cli_env: dict[str, str], tmp_path: Path) -> None:
    with start_app(env=cli_env, log_path=tmp_path / "first.log") as first:
        assert re.search(r"\b1 added\b", first.log()), first.log()
        before = first.first_reply
    with start_app(env=cli_env, log_path=tmp_path / "second.log") as second:
        assert logged(second, UNCHANGED), second.log()  # nothing embedded again
        after = second.first_reply
    assert "[1]" in before[0]["content"]
    assert after == before  # same answer, same sources, same offsets and quotes


def test_a_file_added_while_the_app_was_down_is_indexed_after_start(
    cli_env: dict[str, str], corpus_dir: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(corpus_dir, docs)
    env = {**cli_env, "RAG_CORPUS_DIR": str(docs)}
    with start_app(env=env, log_path=tmp_path / "first.log"):
        pass
    (docs / "council.txt").write_text(ZEBRA)
    with start_app(env=env, log_path=tmp_path / "second.log") as app:
        assert logged(app, re.compile(r"\b1 added\b.*\b1 unchanged\b")), app.log()
        client: Client = new_client(app.url)
        try:
            reply = ask(client, "Where does the zebra council meet?", 60)
        finally:
            close_client(client)
    assert "Lisbon" in reply[-1]["content"]


def test_two_apps_started_at_once_on_one_index_leave_it_intact(
    cli_env: dict[str, str], corpus_dir: Path, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        apps = [
            stack.enter_context(
                start_app(env=cli_env, log_path=tmp_path / f"app{i}.log", wait=False)
            )
            for i in (1, 2)
        ]  # both launched before either is awaited
        for app in apps:
            app.wait_until_serving()
        for app in apps:
            print(f"\n--- {app.url} ---\n{app.log()}")
            assert "[1]" in app.first_reply[0]["content"]
        for i, app in enumerate(apps):  # both still answer while the other runs
            client: Client = new_client(app.url)
            try:
                assert "[1]" in ask(client, QUESTIONS[i + 1], 60)[0]["content"]
            finally:
                close_client(client)

    with start_app(env=cli_env, log_path=tmp_path / "third.log") as third:
        assert logged(third, UNCHANGED), third.log()
        assert "[1]" in third.first_reply[0]["content"]

    shared = RAG(index_dir=cli_env["RAG_INDEX_DIR"], corpus_dir=corpus_dir)
    clean = RAG(index_dir=tmp_path / "clean-index", corpus_dir=corpus_dir)
    clean.ingest(progress=False)
    assert shared.count() == clean.count()
    assert shared.store.sources() == clean.store.sources()  # the same chunk ids, no strays


def ingest_elsewhere(env: dict[str, str], *paths: Path) -> None:
    """``rag ingest`` in a process of its own, as a user runs it beside the chat."""
    done = rag_cli("ingest", *map(str, paths), env=env)
    assert done.returncode == 0, done.stderr[-3000:]


def sources_found(rag: RAG, question: str) -> list[str]:
    return [p.source for p in rag.retrieve(question, k=3)]


def test_a_running_app_finds_what_another_process_ingested(
    cli_env: dict[str, str], corpus_dir: Path, tmp_path: Path
) -> None:
    running = RAG(
        index_dir=cli_env["RAG_INDEX_DIR"], corpus_dir=corpus_dir, retrieval="dense"
    )  # dense: the vectors themselves, not the BM25 index, must be current
    running.ingest(progress=False)
    council = tmp_path / "council.txt"  # outside the corpus folder: named by its path
    assert str(council) not in sources_found(running, "Where does the zebra council meet?")
    council.write_text(ZEBRA)
    ingest_elsewhere(cli_env, council)
    assert sources_found(running, "Where does the zebra council meet?")[0] == str(council)


def test_an_index_opened_empty_is_searchable_once_another_process_fills_it(
    cli_env: dict[str, str], corpus_dir: Path
) -> None:
    waiting = RAG(index_dir=cli_env["RAG_INDEX_DIR"], corpus_dir=corpus_dir, retrieval="dense")
    assert waiting.count() == 0 and waiting.retrieve("What did Russia say?") == []
    ingest_elsewhere(cli_env)  # the corpus folder
    assert set(sources_found(waiting, "What would Ukraine receive?")) == {ARTICLE}
