"""Index -> passages: the chunks nearest to a question, as a LangChain retriever."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.embed import unpack_vectors
from rag.store import SENTENCE_VECTORS, Store


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: ``document_text[start:end] == text`` for its source.

    ``sentence_vectors`` (when the index has them) embed the text's sentences, in
    :func:`rag.sentences.sentence_spans` order.
    """

    id: str
    source: str
    text: str
    start: int
    end: int
    score: float
    sentence_vectors: np.ndarray | None = field(default=None, repr=False, compare=False)

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
        return [
            Document(
                id=doc.id, page_content=doc.page_content, metadata={**doc.metadata, "score": s}
            )
            for doc, s in self.store.search(query, self.k)
        ]
