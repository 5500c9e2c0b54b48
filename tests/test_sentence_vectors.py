"""Sentence vectors computed at ingest: what lets an answer need one model call only."""

import numpy as np
import pytest

from rag import RAG, Passage
from rag.documents.sentences import sentence_spans
from rag.index.embed import SentenceEmbeddings, pack_vectors, unpack_vectors
from rag.index.store import SENTENCE_VECTORS
from tests.conftest import LONG_TEXT

TEXT = (
    "The committee approved the budget on Tuesday. Heavy rain flooded the valley roads. "
    "Engineers replaced the bridge's steel cables."
)


@pytest.fixture(scope="module")
def embeddings() -> SentenceEmbeddings:
    """In fp32: the two ingest paths agree exactly there (bf16: tests/test_precision.py)."""
    return SentenceEmbeddings(precision="fp32")


def stored_vectors(rag: RAG) -> dict[str, str]:
    got = rag.store.vectors._collection.get(include=["metadatas"])
    return {i: m.get(SENTENCE_VECTORS) for i, m in zip(got["ids"], got["metadatas"], strict=True)}


def test_packing_moves_cosine_similarities_by_less_than_0_002(
    embeddings: SentenceEmbeddings,
) -> None:
    sentences = embeddings.encode([TEXT[s:e] for s, e in sentence_spans(TEXT)])
    questions = embeddings.encode(["Who approved the budget?", "What flooded?"])
    restored = unpack_vectors(pack_vectors(sentences))
    assert restored.shape == sentences.shape
    assert np.abs(restored @ questions.T - sentences @ questions.T).max() < 0.002


@pytest.mark.parametrize("torch", [False, True], ids=["onnx", "torch"])
def test_a_sentence_in_context_is_closest_to_its_own_standalone_vector(
    embeddings: SentenceEmbeddings, torch: bool
) -> None:
    spans = sentence_spans(TEXT)
    _, [in_context] = embeddings.encode_with_spans([TEXT], [spans], torch=torch)
    standalone = embeddings.encode([TEXT[s:e] for s, e in spans])
    similarity = in_context @ standalone.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


@pytest.mark.parametrize("torch", [False, True], ids=["onnx", "torch"])
def test_the_chunk_vector_is_the_models_own(embeddings: SentenceEmbeddings, torch: bool) -> None:
    vectors, _ = embeddings.encode_with_spans([TEXT], [sentence_spans(TEXT)], torch=torch)
    reference = embeddings.model.encode([TEXT], normalize_embeddings=True)
    assert np.abs(vectors - reference).max() < 1e-5


def test_both_ingest_paths_give_the_same_sentence_vectors(embeddings: SentenceEmbeddings) -> None:
    texts = [TEXT, LONG_TEXT[:900]]
    spans = [sentence_spans(t) for t in texts]
    _, onnx = embeddings.encode_with_spans(texts, spans)
    _, torch = embeddings.encode_with_spans(texts, spans, torch=True)
    for a, b in zip(onnx, torch, strict=True):
        assert np.abs(a - b).max() < 1e-5


def test_ingest_stores_a_vector_per_sentence_of_every_chunk(long_rag: RAG) -> None:
    rag = long_rag
    packed = stored_vectors(rag)
    chunks = {c.id: c for c in rag.store.chunks()}
    assert packed.keys() == chunks.keys()
    for chunk_id, value in packed.items():
        assert len(unpack_vectors(value)) == len(sentence_spans(chunks[chunk_id].text))


def test_an_answer_encodes_only_the_question(
    default_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []
    real = default_rag.embeddings.encode
    monkeypatch.setattr(
        default_rag.embeddings, "encode", lambda texts: encoded.extend(texts) or real(texts)
    )
    question = "What would Ukraine receive in exchange for ceding territory?"
    default_rag.answer_cache.clear()  # answered by another test: not read again
    assert default_rag.answer(question).citations
    assert encoded == [question]


def test_passages_without_stored_vectors_are_encoded_when_answering(default_rag: RAG) -> None:
    text = "Kyiv would receive security guarantees in return for ceding territory."
    passage = Passage("p1", "note.txt", text, 0, len(text), 0.9)
    answer = default_rag.answerer("What would Kyiv receive in return?", [passage])
    assert [c.quote for c in answer.citations] == [text]


def test_an_index_without_sentence_vectors_gets_them_on_the_next_ingest(
    long_rag: RAG,
) -> None:
    rag = long_rag
    chunks = rag.store.chunks()
    # What an index written before sentence vectors existed holds: no such metadata key.
    rag.store.delete([c.id for c in chunks])
    rag.store.vectors.add_texts(
        [c.text for c in chunks], metadatas=[c.metadata for c in chunks], ids=[c.id for c in chunks]
    )
    assert not any(stored_vectors(rag).values())
    report = rag.ingest()
    assert (report.updated, report.chunks_added, report.chunks_removed) == (
        ["a.txt"],
        len(chunks),
        0,
    )
    assert all(stored_vectors(rag).values())
    assert rag.ingest().unchanged == ["a.txt"]
