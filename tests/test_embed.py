"""The embedding model: the ONNX export answers like sentence-transformers, without torch."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag import RAG
from rag.index.embed import (
    SentenceEmbeddings,
    _export_key,
    cache_dir,
    default_model_path,
    load_onnx,
    onnx_session,
)
from tests.conftest import LONG_TEXT

TEXTS = ["Who drafted the plan?", "A", LONG_TEXT[:3000], "Kyiv would get guarantees in return."]


@pytest.fixture(scope="module")
def embeddings() -> SentenceEmbeddings:
    return SentenceEmbeddings()


def test_the_onnx_export_is_used(embeddings: SentenceEmbeddings) -> None:
    assert embeddings.onnx is not None


def test_onnx_vectors_equal_sentence_transformers_in_a_batch(
    embeddings: SentenceEmbeddings,
) -> None:
    reference = embeddings.model.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(embeddings.encode(TEXTS) - reference).max() < 1e-5


@pytest.mark.parametrize("text", TEXTS, ids=["question", "one-letter", "truncated", "sentence"])
def test_onnx_vectors_equal_sentence_transformers_one_at_a_time(
    embeddings: SentenceEmbeddings, text: str
) -> None:
    reference = embeddings.model.encode([text], normalize_embeddings=True)
    assert np.abs(np.asarray(embeddings.embed_query(text)) - reference[0]).max() < 1e-5


def test_encode_keeps_the_order_of_its_input(embeddings: SentenceEmbeddings) -> None:
    together = embeddings.encode(TEXTS)
    apart = np.stack([embeddings.encode([t])[0] for t in TEXTS])
    assert np.abs(together - apart).max() < 1e-5


@pytest.fixture
def rejected_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A cache in which the export was found not to match the model."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = cache_dir() / "onnx" / _export_key(default_model_path())
    folder.mkdir(parents=True)
    (folder / "mismatch").touch()
    load_onnx.cache_clear()
    yield
    load_onnx.cache_clear()


def test_an_export_that_does_not_match_is_not_used(rejected_export: None) -> None:
    embeddings = SentenceEmbeddings(precision="fp32")
    assert embeddings.onnx is None
    assert not list((cache_dir() / "onnx").rglob("*.onnx"))  # nor made again
    reference = embeddings.model.encode(TEXTS[:1], normalize_embeddings=True)
    assert np.abs(embeddings.encode(TEXTS[:1]) - reference).max() < 1e-6


def test_onnx_sessions_let_idle_threads_sleep_so_the_next_session_gets_the_cores() -> None:
    assert load_onnx() is not None  # the export exists
    file = cache_dir() / "onnx" / _export_key(default_model_path()) / "model.onnx"
    options = onnx_session(file).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_answering_from_an_existing_index_never_imports_torch(default_rag: RAG) -> None:
    script = (
        "import sys\n"
        "from rag import RAG\n"
        f"rag = RAG(index_dir={str(default_rag.settings.index_dir)!r},"
        f" corpus_dir={str(default_rag.settings.corpus_dir)!r})\n"
        "rag.ingest()\n"
        "assert rag.answer('What would Ukraine receive in exchange?').citations\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.strip() == "False"


FRAGMENT = """
import sys
from rag.index.embed import release_freed_memory

def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20

freed = bytearray(8 << 20)
del freed  # glibc now raises its mmap threshold: the blocks below come from its heap
before = rss_mib()
blocks = [bytearray(1 << 20) for _ in range(200)]
del blocks[::2]  # free every other 1 MiB block: holes the heap does not give back
if sys.argv[1] == "released":
    assert release_freed_memory()
print(rss_mib() - before)
"""


def held_after_freeing_half(mode: str) -> float:
    """MiB still held after 200 blocks of 1 MiB were made and every other one freed."""
    run = subprocess.run(
        [sys.executable, "-c", FRAGMENT, mode], capture_output=True, text=True, check=True
    )
    return float(run.stdout)


def test_freed_encoder_sized_blocks_go_back_to_the_system() -> None:
    if held_after_freeing_half("kept") < 180:  # this libc does not keep them anyway
        pytest.skip("the C library returns freed blocks by itself")
    assert held_after_freeing_half("released") < 120
