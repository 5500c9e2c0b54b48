"""Index -> passages: the chunks nearest to a question, as a LangChain retriever."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.documents.formats import NO_LAYOUT, Layout
from rag.index.bm25 import LexicalIndex
from rag.index.embed import unpack_vectors
from rag.index.store import SENTENCE_VECTORS, Store


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: ``document_text[start:end] == text`` for its source.

    ``sentence_vectors`` (when the index has them) embed the text's sentences, in
    :func:`rag.documents.sentences.sentence_spans` order.
    """

    id: str
    source: str
    text: str
    start: int
    end: int
    score: float
    sentence_vectors: np.ndarray | None = field(default=None, repr=False, compare=False)
    layout: Layout = field(default=NO_LAYOUT, repr=False, compare=False)
    """The pages and sections of the document within the passage."""
    version: str = field(default="", compare=False)
    """The content hash of the document version the passage was read from ("" for an
    index made before versions were recorded)."""

    def record(self) -> dict[str, str | int | float | None]:
        """The passage as plain data, for programs: where it is and its score."""
        return {
            "id": self.id,
            "source": self.source,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": self.score,
            "page": self.layout.page_at(self.start),
            "section": self.layout.section_at(self.start),
        }

    def saved(self) -> dict[str, Any]:
        """The passage as plain data to keep (its sentence vectors left out):
        :meth:`from_saved` restores it."""
        where = {k: v for k, v in self.record().items() if k not in ("page", "section")}
        layout = self.layout.to_json() if self.layout else None
        return {**where, "layout": layout, "version": self.version}

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> Passage:
        return cls(
            id=data["id"],
            source=data["source"],
            text=data["text"],
            start=data["start"],
            end=data["end"],
            score=data["score"],
            layout=Layout.from_json(data.get("layout")),
            version=data.get("version", ""),
        )

    @classmethod
    def from_document(cls, doc: Document) -> Passage:
        meta = doc.metadata
        packed = meta.get(SENTENCE_VECTORS)
        return cls(
            id=str(doc.id),
            source=str(meta["source"]),
            text=doc.page_content,
            start=int(meta["start"]),
            end=int(meta["end"]),
            score=float(meta["score"]),
            sentence_vectors=unpack_vectors(packed) if packed else None,
            layout=Layout.from_json(meta.get("layout")),
            version=str(meta.get("version", "")),
        )


class PassageRetriever(BaseRetriever):
    """Dense retrieval from the Chroma store; each Document carries its ``score``.

    Example:
        >>> retriever = PassageRetriever(store=store, k=5)  # doctest: +SKIP
        >>> docs = retriever.invoke("What would Ukraine get in return?")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [_scored(doc, s) for doc, s in self.store.search(query, self.k)]


def _scored(doc: Document, score: float) -> Document:
    """``doc`` with its cosine similarity to the query in ``metadata["score"]``."""
    return Document(
        id=doc.id, page_content=doc.page_content, metadata={**doc.metadata, "score": score}
    )


RRF_K = 60
"""Reciprocal rank fusion's constant (Cormack et al., 2009): a hit at rank r counts
1 / (RRF_K + r), so agreement between the lists outweighs one list's top rank."""


class HybridRetriever(BaseRetriever):
    """Dense and BM25 results fused by reciprocal rank: exact words (names, numbers,
    rare terms) found by BM25 and paraphrases found by the embedding both rank.

    Each list contributes its ``pool`` best chunks; the ``k`` with the highest fused
    score are returned, each with its cosine ``score`` like :class:`PassageRetriever`'s.

    Example:
        >>> lexical = LexicalIndex(store)  # doctest: +SKIP
        >>> retriever = HybridRetriever(store=store, lexical=lexical, k=5)  # doctest: +SKIP
        >>> docs = retriever.invoke("What did Reuters report on November 19?")  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Store
    lexical: LexicalIndex
    k: int = 5
    pool: int = 20

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        pool = max(self.pool, self.k)
        dense = self.store.search(query, pool)
        lexical = self.lexical.top(query, pool)
        fused: dict[str, float] = {}
        for ranking in ([str(doc.id) for doc, _ in dense], [i for i, _ in lexical]):
            for rank, chunk_id in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1 / (RRF_K + rank)
        best = sorted(fused, key=lambda i: -fused[i])[: self.k]
        found = {str(doc.id): (doc, score) for doc, score in dense}
        missing = [i for i in best if i not in found]
        if missing:
            found |= {str(doc.id): (doc, score) for doc, score in self.store.fetch(missing, query)}
        return [_scored(*found[i]) for i in best if i in found]
