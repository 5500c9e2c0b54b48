"""The RAG instance: one index, one corpus, one answerer, wired together."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from rag.answer import Answer, Answerer, ExtractiveAnswerer
from rag.config import Settings
from rag.embed import SentenceEmbeddings
from rag.ingest import IngestReport, Splitter, load
from rag.retrieve import Passage, PassageRetriever
from rag.store import Store, open_client


class RAG:
    """Question answering over a folder of documents, with exact citations.

    Example:
        >>> r = RAG(index_dir="/tmp/my-index", corpus_dir="docs")  # doctest: +SKIP
        >>> r.ingest()          # index docs/ (re-running changes only what changed)
        >>> a = r.answer("What would Ukraine get in return?")
        >>> a.text, a.citations[0].quote
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        answerer: Answerer | None = None,
        **overrides: Any,
    ) -> None:
        if settings is not None and overrides:
            raise ValueError("pass either settings or keyword overrides, not both")
        self.settings = settings or Settings(**overrides)
        self._answerer = answerer

    @cached_property
    def embeddings(self) -> SentenceEmbeddings:
        return SentenceEmbeddings(self.settings.embedding_model)

    @cached_property
    def store(self) -> Store:
        return Store(open_client(self.settings), self.settings.collection, self.embeddings)

    @cached_property
    def answerer(self) -> Answerer:
        if self._answerer is not None:
            return self._answerer
        s = self.settings
        return ExtractiveAnswerer(
            self.embeddings,
            min_score=s.min_score,
            max_sentences=s.max_sentences,
            margin=s.sentence_margin,
        )

    @cached_property
    def splitter(self) -> Splitter:
        s = self.settings
        return Splitter(self.embeddings.tokenizer, s.chunk_size, s.chunk_overlap)

    def ingest(
        self,
        sources: Iterable[str | Path | Document] | None = None,
        *,
        prune: bool = False,
        progress: bool | None = None,
    ) -> IngestReport:
        """Bring the index in line with ``sources`` (default: the corpus folder).

        Sources are files, folders and LangChain Documents (named by
        ``metadata["source"]``). Unchanged documents cost no embedding; a changed one
        has its chunks replaced; a file gone from an ingested folder loses its chunks.
        With ``prune=True`` the index keeps only the sources given here: everything
        else in it is removed (what an evaluation on a fixed dataset needs).
        New chunks are written before stale ones are deleted, so an interrupted ingest
        never leaves a document with no chunks.
        """
        if isinstance(sources, str | Path | Document):
            raise TypeError("ingest() takes a list of paths or Documents, not a single one")
        report = IngestReport()
        docs, folders = load(
            [self.settings.corpus_dir] if sources is None else sources,
            self.settings.corpus_dir,
            report,
        )
        indexed = self.store.sources()
        to_add, to_delete = [], []
        for doc in docs:
            chunks = self.splitter.split(doc.text, doc.source, doc.path)
            old = indexed.pop(doc.source, None)
            old_ids = old.ids if old else set()
            new = [c for c in chunks if c.id not in old_ids]
            stale = old_ids - {c.id for c in chunks}
            to_add += new
            to_delete += stale
            if old is None:
                report.added.append(doc.source)
            elif new or stale:
                report.updated.append(doc.source)
            else:
                report.unchanged.append(doc.source)
        for source, entry in indexed.items():  # not loaded this time
            in_folder = entry.path and any(Path(entry.path).is_relative_to(f) for f in folders)
            if prune or in_folder:
                report.removed.append(source)
                to_delete += entry.ids
        self.store.add(to_add, progress=progress)
        self.store.delete(to_delete)
        report.chunks_added, report.chunks_removed = len(to_add), len(to_delete)
        return report

    def count(self) -> int:
        """Number of chunks in the index."""
        return self.store.count()

    def retriever(self, k: int | None = None) -> PassageRetriever:
        return PassageRetriever(store=self.store, k=k or self.settings.k)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The ``k`` passages nearest to ``question``, best first."""
        return [Passage.from_document(d) for d in self.retriever(k).invoke(question)]

    def chain(self) -> Runnable[str, Answer]:
        """A LangChain Runnable: question -> retrieved passages -> cited :class:`Answer`."""
        to_passages = RunnableLambda(lambda docs: [Passage.from_document(d) for d in docs])
        return (
            RunnableLambda(lambda question: {"question": question})
            | RunnablePassthrough.assign(
                passages=RunnableLambda(lambda x: x["question"]) | self.retriever() | to_passages
            )
            | RunnableLambda(lambda x: self.answerer(x["question"], x["passages"]))
        ).with_config(run_name="rag")

    def answer(self, question: str) -> Answer:
        """Answer ``question`` from the index, citing exact quotes, or abstain."""
        return self.chain().invoke(question)
