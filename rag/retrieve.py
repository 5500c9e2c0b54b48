"""Index -> passages: the chunks nearest to a question, as a LangChain retriever."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.store import Store


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: ``document_text[start:end] == text`` for its source."""

    id: str
    source: str
    text: str
    start: int
    end: int
    score: float

    @classmethod
    def from_document(cls, doc: Document) -> Passage:
        meta = doc.metadata
        return cls(
            id=str(doc.id),
            source=str(meta["source"]),
            text=doc.page_content,
            start=int(meta["start"]),
            end=int(meta["end"]),
            score=float(meta["score"]),
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
