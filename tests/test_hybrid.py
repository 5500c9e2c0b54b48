"""Hybrid retrieval: BM25 and dense results fused, the BM25 side kept current with the index."""

from collections.abc import Callable

import numpy as np
import pytest

from rag import RAG
from rag.config import Settings
from rag.serve.server import sync_in_background

TOPICS = {
    "harbour.txt": "The harbour festival opens with a lantern parade along the old quay.",
    "library.txt": "The library lends bicycles to visitors on weekdays.",
    "museum.txt": "The museum shows maps of the coast drawn by early sailors.",
    "serial.txt": "Part QX-7731 is a brass valve fitted to the pump of the harbour ferry.",
}


@pytest.fixture
def hybrid(make_rag: Callable[..., RAG]) -> RAG:
    rag = make_rag(retrieval="hybrid", k=2)
    for name, text in TOPICS.items():
        (rag.settings.corpus_dir / name).write_text(text)
    rag.ingest()
    return rag


def test_a_rare_exact_term_is_found_by_its_words(hybrid: RAG) -> None:
    assert hybrid.lexical.top("QX-7731", 1)[0][0] in {
        c.id for c in hybrid.store.chunks("serial.txt")
    }
    assert hybrid.retrieve("Which part is QX-7731?")[0].source == "serial.txt"


def test_hybrid_passages_carry_their_cosine_score(hybrid: RAG) -> None:
    dense = RAG(hybrid.settings.model_copy(update={"retrieval": "dense", "k": 4}))
    cosine = {p.id: p.score for p in dense.retrieve("bicycles for visitors")}
    for passage in hybrid.retrieve("bicycles for visitors"):
        assert passage.score == pytest.approx(cosine[passage.id], abs=1e-5)


def test_the_lexical_side_sees_documents_ingested_since(hybrid: RAG) -> None:
    assert hybrid.lexical.top("heron", 1) == []
    (hybrid.settings.corpus_dir / "birds.txt").write_text("A grey heron nests by the weir.")
    hybrid.ingest()
    (found, _), *_ = hybrid.lexical.top("heron", 1)
    assert found in {c.id for c in hybrid.store.chunks("birds.txt")}


def test_the_lexical_side_sees_another_clients_ingest(hybrid: RAG) -> None:
    """Another process (the CLI, another app on the same server) writes the index."""
    hybrid.lexical.top("heron", 1)  # built before the other client writes
    other = RAG(hybrid.settings)
    (other.settings.corpus_dir / "birds.txt").write_text("A grey heron nests by the weir.")
    other.ingest()
    (found, _), *_ = hybrid.lexical.top("heron", 1)
    assert found in {c.id for c in other.store.chunks("birds.txt")}


def test_deleted_documents_leave_the_lexical_side(hybrid: RAG) -> None:
    (hybrid.settings.corpus_dir / "serial.txt").unlink()
    hybrid.ingest()
    assert hybrid.lexical.top("QX-7731", 1) == []
    assert all(p.source != "serial.txt" for p in hybrid.retrieve("Which part is QX-7731?"))


def test_hybrid_answers_cite_exact_quotes(hybrid: RAG) -> None:
    answer = hybrid.answer("Which part is QX-7731?")
    assert answer.citations[0].quote == TOPICS["serial.txt"]


def fail_if_built(rag: RAG, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_build(generation: str):
        raise AssertionError("rebuilt from the chunks instead of read from the saved index")

    monkeypatch.setattr(rag.lexical, "_build", no_build)


def test_a_restart_reads_the_saved_lexical_index(hybrid: RAG, monkeypatch) -> None:
    hybrid.lexical.top("QX-7731", 1)  # built and saved
    restarted = RAG(hybrid.settings)
    fail_if_built(restarted, monkeypatch)
    assert restarted.lexical.top("QX-7731", 1) == hybrid.lexical.top("QX-7731", 1)


def test_a_saved_lexical_index_of_an_older_generation_is_rebuilt(hybrid: RAG) -> None:
    hybrid.lexical.top("heron", 1)  # saved before the change below
    (hybrid.settings.corpus_dir / "birds.txt").write_text("A grey heron nests by the weir.")
    RAG(hybrid.settings.model_copy(update={"retrieval": "dense"})).ingest()  # saves no BM25
    assert RAG(hybrid.settings).lexical.top("heron", 1) != []


def test_a_lexical_index_saved_in_the_older_format_is_rebuilt(hybrid: RAG) -> None:
    expected = hybrid.lexical.top("QX-7731", 1)  # built and saved
    with np.load(hybrid.lexical.cache) as saved:
        arrays = dict(saved)
    terms = str(arrays.pop("terms")).split("\n")
    with hybrid.lexical.cache.open("wb") as out:  # before: one array of terms, "vocab"
        np.savez(out, vocab=np.asarray(terms, dtype=str), **arrays)
    assert RAG(hybrid.settings).lexical.top("QX-7731", 1) == expected


def test_an_ingest_that_changes_the_index_saves_the_lexical_side(hybrid: RAG, monkeypatch) -> None:
    (hybrid.settings.corpus_dir / "birds.txt").write_text("A grey heron nests by the weir.")
    hybrid.ingest()
    restarted = RAG(hybrid.settings)
    fail_if_built(restarted, monkeypatch)
    (found, _), *_ = restarted.lexical.top("heron", 1)
    assert found in {c.id for c in hybrid.store.chunks("birds.txt")}


def test_the_chat_loads_the_lexical_side_before_the_first_question(
    hybrid: RAG, monkeypatch
) -> None:
    restarted = RAG(hybrid.settings)
    sync_in_background(restarted)
    fail_if_built(restarted, monkeypatch)
    monkeypatch.setattr(restarted.lexical, "_cached", lambda generation: None)
    assert restarted.lexical.top("QX-7731", 1) == hybrid.lexical.top("QX-7731", 1)


def test_hybrid_is_the_default_retrieval() -> None:
    assert Settings().retrieval == "hybrid"
