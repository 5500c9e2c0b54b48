"""A killed ingest leaves a usable index that the next ingest completes; two ingests at
once do not both write. Real `rag ingest` subprocesses, real kill -9."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag import RAG

pytestmark = pytest.mark.slow

FILES = 24
WORDS = (
    "harbour ferry lantern museum council bridge market library river tower festival "
    "engineer budget winter railway archive garden school bakery island storm council "
    "mayor report survey harvest quarry canal orchard signal beacon lighthouse"
).split()
BATCHES_BEFORE_KILL = 1  # the store writes 64 chunks per batch


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated documents of about 1,000 words: some 200 chunks, enough for
    an ingest to be caught half way."""
    folder = tmp_path_factory.mktemp("big-corpus")
    rng = random.Random(0)
    for n in range(FILES):
        sentences = [
            f"Report {n}.{i} says the {' '.join(rng.choices(WORDS, k=12))}." for i in range(120)
        ]
        (folder / f"doc{n:02}.txt").write_text(" ".join(sentences))
    return folder


def expected_ids(rag: RAG, folder: Path) -> set[str]:
    """The chunk ids a complete ingest of ``folder`` must leave, computed without indexing."""
    return {
        chunk.id
        for file in sorted(folder.iterdir())
        for chunk in rag.splitter.split(file.read_text(), file.name, str(file))
    }


def indexed_ids(rag: RAG) -> list[str]:
    return [chunk.id for chunk in rag.store.chunks()]


@contextmanager
def ingest_until(env: dict[str, str], chunks: int) -> Iterator[subprocess.Popen[bytes]]:
    """A `rag ingest --progress` subprocess, yielded once its bar shows ``chunks`` written."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.serve.cli", "ingest", "--progress"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen = b""
    try:
        while True:
            data = os.read(proc.stderr.fileno(), 4096)
            assert data, f"ingest ended before {chunks} chunks: {seen.decode()[-500:]}"
            seen += data
            done = [int(n) for n in re.findall(rb"(\d+)/\d+ \[", seen)]
            if done and max(done) >= chunks:
                break
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


def kill_mid_ingest(env: dict[str, str]) -> None:
    """Start `rag ingest` and SIGKILL it once its first batches are written."""
    with ingest_until(env, BATCHES_BEFORE_KILL * 64) as proc:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)


def test_kill_9_mid_ingest_leaves_an_index_that_opens_and_answers(
    big_corpus: Path, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "RAG_CORPUS_DIR": str(big_corpus)}
    kill_mid_ingest(env)
    rag = RAG(corpus_dir=big_corpus, index_dir=env["RAG_INDEX_DIR"])
    total = len(expected_ids(rag, big_corpus))
    assert BATCHES_BEFORE_KILL * 64 <= rag.count() < total
    found = rag.answer("What does report 0.1 say about the harbour?")
    assert found.citations and not found.abstained


def test_ingest_after_a_kill_completes_with_no_duplicate_and_no_missing_chunk(
    big_corpus: Path, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "RAG_CORPUS_DIR": str(big_corpus)}
    kill_mid_ingest(env)
    again = subprocess.run(
        [sys.executable, "-m", "rag.serve.cli", "ingest"], env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    rag = RAG(corpus_dir=big_corpus, index_dir=env["RAG_INDEX_DIR"])
    ids = indexed_ids(rag)
    assert len(ids) == len(set(ids)) == rag.count()
    assert set(ids) == expected_ids(rag, big_corpus)


def test_a_second_ingest_while_one_runs_is_refused_and_the_first_completes(
    big_corpus: Path, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "RAG_CORPUS_DIR": str(big_corpus)}
    with ingest_until(env, 64) as first:
        second = subprocess.run(
            [sys.executable, "-m", "rag.serve.cli", "ingest"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert second.returncode == 3
        assert "another ingest is writing the index" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.wait(timeout=600) == 0
    rag = RAG(corpus_dir=big_corpus, index_dir=env["RAG_INDEX_DIR"])
    assert set(indexed_ids(rag)) == expected_ids(rag, big_corpus)
    assert rag.count() == len(expected_ids(rag, big_corpus))
