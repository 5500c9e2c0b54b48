"""One collection: a Chroma collection with its BM25 index and its folders.

It ingests (:mod:`rag.index.sync`), answers (:mod:`rag.answering`), checks texts and
shows its documents; the models, the client and the records it uses are its
:class:`rag.library.Library`'s, shared with every other collection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig

from rag.answer_cache import AnswerCache
from rag.answering import answer_chain, answer_question, stream_answer
from rag.config import Settings
from rag.documents.formats import Layout, UnreadableFile, read_file
from rag.documents.ingest import Chunk, IngestReport
from rag.errors import NotFound, TooLarge
from rag.index.bm25 import LexicalIndex
from rag.index.store import Store
from rag.index.sync import Indexer, Source, accept_uploads, folders_among, holding
from rag.index.versions import CitedVersion, Versions
from rag.library import Library
from rag.reading.answer import Answer, Answerer
from rag.reading.check import Check, Checker
from rag.reading.cite import Citation
from rag.reading.conversation import Turn
from rag.reading.extractive import SentenceVectors
from rag.retrieve import HybridRetriever, Passage, PassageRetriever


class Collection:
    """Question answering over one collection, with exact citations.

    ``name`` defaults to the library's default collection (``RAG_COLLECTION``).
    """

    def __init__(self, library: Library, name: str | None = None) -> None:
        self.library = library
        self.settings: Settings = library.settings_for(name or library.settings.collection)
        self._folders: list[Path] | None = None

    @property
    def answerer(self) -> Answerer:
        """The library's reader (:meth:`rag.library.Library.answerer`)."""
        return self.library.answerer

    @cached_property
    def answer_cache(self) -> AnswerCache:
        """The answers kept for questions asked again while the collection is unchanged
        (``RAG_ANSWER_CACHE`` of them; :mod:`rag.answer_cache`)."""
        return AnswerCache(self.settings.answer_cache, lambda: self.store.generation())

    # --- the index ---

    @cached_property
    def store(self) -> Store:
        chroma, embeddings = self.library.chroma, self.library.embeddings
        return Store(chroma.client, self.settings.collection, embeddings, chroma.reopen)

    @cached_property
    def lexical(self) -> LexicalIndex:
        """The BM25 side of hybrid retrieval, saved beside an embedded index (in the
        cache folder for a server's collection) so a restart need not rebuild it."""
        return LexicalIndex(self.store, self._lexical_cache())

    def _lexical_cache(self) -> Path:
        return self.library.chroma.lexical_cache(self.settings.collection)

    def count(self) -> int:
        """Number of chunks in the index."""
        return self.store.count()

    @property
    def folders(self) -> list[Path]:
        """The folders the collection indexes: those recorded for it (with any later
        ingested), else RAG_CORPUS_DIR."""
        if self._folders is None:
            self._folders = self.store.folders() or [self.settings.corpus_dir]
        return self._folders

    @property
    def corpus_dir(self) -> Path:
        """The collection's own folder: uploads go here, and documents in it are named by
        their path in it."""
        return self.folders[0]

    def record_folders(self, folders: list[Path]) -> None:
        """Make ``folders`` the ones the collection indexes, the first taking uploads."""
        self.store.record_folders(folders)
        self._folders = None

    def warm(self) -> None:
        """Load the question encoder and the reading model now rather than on the first
        question (the chat does this while its web framework loads). The index is not
        opened: an embedded one that another process is filling must be opened only after
        that ingest (its lock)."""
        self.library.warm()

    def warm_index(self) -> None:
        """Make ready what the index's first question would otherwise wait for: with
        hybrid retrieval, the BM25 index (read from disk when current, else built from the
        chunks: 12 s at 10,000 articles). An ingest that changes the index calls it; so
        does the chat after checking the corpus folder."""
        if self.settings.retrieval == "hybrid":
            self.lexical.refresh()

    # --- ingest ---

    def ingest(
        self,
        sources: Iterable[Source] | None = None,
        *,
        prune: bool = False,
        progress: bool | None = None,
        wait: float = 0,
    ) -> IngestReport:
        """Bring the index in line with ``sources`` (default: the corpus folder).

        Sources are files, folders and LangChain Documents (named by
        ``metadata["source"]``). Unchanged documents cost no embedding; a changed one
        has its chunks replaced; a file gone from an ingested folder loses its chunks.
        With ``prune=True`` the index keeps only the sources given here: everything
        else in it is removed (what an evaluation on a fixed dataset needs).
        New chunks are written before stale ones are deleted, so an interrupted ingest
        never leaves a document with no chunks, and running it again completes it.

        One ingest at a time writes an index: another one waits up to ``wait`` seconds
        for it, then raises :class:`IndexBusy`.
        """
        if isinstance(sources, str | Path | Document):
            raise TypeError("ingest() takes a list of paths or Documents, not a single one")
        if sources is not None:
            sources = list(sources)
            self._remember_folders(sources)
        with self.ingest_lock(wait):
            return self._sync(sources, prune=prune, progress=progress)

    def fill_if_empty(self, *, wait: float = 0) -> IngestReport | None:
        """Ingest the folders if the index holds no chunk yet (None if it holds some),
        under one hold of the ingest lock: an embedded index opened empty by one process
        while another fills it cannot be searched by the first (Chroma keeps the new
        vectors in the writer's memory), so two apps starting at once must not both see
        it empty. Waits and raises as :meth:`ingest` does."""
        with self.ingest_lock(wait):
            if self.count():
                return None
            return self._sync(None, prune=False, progress=None)

    def _sync(
        self, sources: Iterable[Source] | None, *, prune: bool, progress: bool | None
    ) -> IngestReport:
        indexer = Indexer(
            self.store,
            self.library.splitter,
            self.library.versions,
            self.settings.collection,
            self.settings.max_file_bytes,
            self.warm_index,
        )
        sources = self.folders if sources is None else sources
        return indexer.sync(sources, self.corpus_dir, prune=prune, progress=progress)

    def add_files(
        self, paths: Iterable[str | Path], *, progress: bool | None = None, wait: float = 600
    ) -> IngestReport:
        """Copy files into the corpus folder and index them (the chat's upload); each
        must pass the checks of :meth:`ingest` first, and none overwrites a different
        file of its name (:func:`rag.index.sync.accept_uploads`)."""
        accepted, checks = accept_uploads(paths, self.corpus_dir, self.settings.max_file_bytes)
        if not accepted:
            return checks
        report = self.ingest(accepted, progress=progress, wait=wait)
        report.skipped[:0] = checks.skipped
        return report

    def remove(self, source: str, *, wait: float = 0) -> int:
        """Remove a document from the index, and its file from the corpus folder (else the
        next sync of the folder would index it again); the number of chunks removed.
        Raises KeyError for a document not in the index, :class:`IndexBusy` as
        :meth:`ingest` does."""
        with self.ingest_lock(wait):
            entry = self.store.sources().get(source)
            if entry is None:
                raise NotFound(f"{source!r} is not in the index", code="document_not_found")
            file = self.document_file(source)
            self.store.delete(entry.ids)
            if file is not None:
                file.unlink(missing_ok=True)
            self.warm_index()
            return len(entry.ids)

    def _remember_folders(self, sources: list[Source]) -> None:
        """A collection with recorded folders adds the folders ingested into it, so that
        :meth:`ingest` with no sources keeps them in sync."""
        recorded = self.store.folders()
        if recorded is None:
            return
        new = [f for f in folders_among(sources) if f not in recorded]
        if new:
            self.record_folders([*recorded, *new])

    def ingest_lock(self, wait: float = 0) -> AbstractContextManager[None]:
        """Hold the index's ingest lock (what :meth:`ingest` takes); wait up to ``wait``
        seconds for another holder, then raise :class:`IndexBusy`."""
        index = self.library.chroma.describe(self.settings.collection)
        busy = f"another ingest is writing the index ({index}); "
        return holding(self._lock_path(), wait, busy + "try again when it has finished")

    def _lock_path(self) -> Path:
        return self.library.chroma.lock_path(self.settings.collection)

    # --- questions and texts ---

    def retriever(self, k: int | None = None) -> BaseRetriever:
        """The retriever ``RAG_RETRIEVAL`` names, returning ``k`` passages (default ``RAG_K``)."""
        k = k or self.settings.k
        if self.settings.retrieval == "hybrid":
            return HybridRetriever(store=self.store, lexical=self.lexical, k=k)
        return PassageRetriever(store=self.store, k=k)

    def retrieve(
        self, question: str, k: int | None = None, *, config: RunnableConfig | None = None
    ) -> list[Passage]:
        """The ``k`` passages nearest to ``question``, best first: by cosine similarity
        (``Passage.score``) for dense retrieval, by fused rank for hybrid. ``config``
        makes the retrieval a child of a LangChain run (:meth:`chain`)."""
        return [Passage.from_document(d) for d in self.retriever(k).invoke(question, config)]

    def answer(self, question: str, history: Iterable[Turn] | None = None) -> Answer:
        """Answer ``question`` from the index, citing exact quotes, or abstain
        (:func:`rag.answering.answer_question`: retrieve, read, compose). Asked again
        while the collection is unchanged, it gets the same answer from
        :attr:`answer_cache`, without retrieving or reading.

        ``history`` is the conversation so far, oldest first: earlier questions (str),
        earlier :class:`Answer` objects, or chat messages (``{"role": "user", "content":
        ...}``; only the user's count). A follow-up ("and what did Europe think of it?")
        is then rewritten into a standalone question, returned as ``Answer.rewritten``.

        Example:
            >>> first = rag.answer("What does the plan ask of Ukraine?")  # doctest: +SKIP
            >>> rag.answer("And what did Europe think of it?", history=[first]).rewritten
            'what did Europe think of it? (following: What does the plan ask of Ukraine?)'
        """
        return answer_question(self, question, list(history or ()))

    def stream(self, question: str, history: Iterable[Turn] | None = None) -> Iterator[Answer]:
        """Like :meth:`answer`, as the answer grows: each item is the answer so far, the
        last one complete. An answerer with a ``stream`` method (same arguments, yielding
        Answers) is streamed; one without (the extractive one) gives its Answer whole."""
        yield from stream_answer(self, question, list(history or ()))

    def chain(self) -> Runnable[str | dict[str, Any], Answer]:
        """:meth:`answer` as a LangChain Runnable (:func:`rag.answering.answer_chain`).

        The input is a question, or ``{"question": ..., "history": [...]}`` for a
        follow-up (history as in :meth:`answer`). The question is cleaned first (control
        characters and invisible marks removed); an empty or over-long one gets an
        abstaining Answer that says why, with no retrieval. Retrieval runs as a child of
        this run, so callbacks see both.
        """
        return answer_chain(self)

    def check(self, text: str, progress: Callable[[int, int], None] | None = None) -> Check:
        """Verify ``text`` against the sources, sentence by sentence (:mod:`rag.reading.check`):
        each sentence is supported, contradicted or not found, with the exact quotes
        its verdict rests on. ``progress(done, total)`` is called after each sentence.

        Example:
            >>> print(rag.check("Ukraine drafted the plan."))  # doctest: +SKIP
        """
        if len(text) > self.settings.max_check_chars:
            raise TooLarge(
                f"the text is too long to check ({len(text):,} characters; the limit is "
                f"{self.settings.max_check_chars:,}, set by RAG_MAX_CHECK_CHARS)",
                code="text_too_long",
            )
        return self.checker(text, progress)

    @cached_property
    def checker(self) -> Checker:
        library = self.library
        return Checker(self.retrieve, library.crossencoder, SentenceVectors(library.embeddings))

    # --- its documents ---

    def documents(self) -> dict[str, int]:
        """Every indexed document with its number of chunks, by name (kept until the
        index changes: :meth:`rag.index.store.Store.documents`)."""
        return self.store.documents()

    def _chunks(self, source: str) -> list[Chunk]:
        """Every chunk of the document ``source``; :class:`NotFound` when it has none."""
        chunks = self.store.chunks(source)
        if not chunks:
            raise NotFound(f"{source!r} is not in the index", code="document_not_found")
        return chunks

    def document_layout(self, source: str) -> Layout:
        """Where the pages and sections of an indexed document begin in its text, as its
        chunks recorded them. Raises KeyError for a document not in the index."""
        return Layout.merged([c.layout for c in self._chunks(source)])

    def document_file(self, source: str) -> Path | None:
        """The file an indexed document was read from, when it is still in the corpus
        folder; None otherwise (outside it, gone, or not from a file). Raises KeyError
        for a document not in the index."""
        chunks = self._chunks(source)
        if not chunks[0].path:
            return None
        path = Path(chunks[0].path).resolve()
        inside = any(path.is_relative_to(f.resolve()) for f in self.folders)
        return path if path.is_file() and inside else None

    def document_text(self, source: str) -> str:
        """The text of an indexed document, as its citations' offsets count it
        (:func:`text_of`). Raises KeyError for a document not in the index."""
        return text_of(self._chunks(source), self.settings.max_file_bytes)

    def cited_version(self, citation: Citation) -> CitedVersion:
        """How the document ``citation`` quotes stands now (:func:`cited_version`)."""
        chunks = self.store.chunks(citation.source) if citation.version else []
        return cited_version(
            citation, chunks, self.library.versions, self.settings.collection, self.settings
        )


def cited_version(
    citation: Citation, chunks: list[Chunk], versions: Versions, name: str, settings: Settings
) -> CitedVersion:
    """How the document ``citation`` quotes stands now, given its ``chunks`` in the
    collection ``name``: changed since (when, and whether the quote is still in it), or
    gone; with the quoted version's text when it is kept (``RAG_KEEP_VERSIONS``). A
    citation made before versions were recorded counts as unchanged."""
    if not citation.version:
        return CitedVersion(changed=False)
    if chunks and chunks[0].version == citation.version:
        return CitedVersion(changed=False)
    kept = versions.text(name, citation.source, citation.version)
    if not chunks:
        return CitedVersion(changed=True, removed=True, still_there=False, quoted_text=kept)
    return CitedVersion(
        changed=True,
        since=versions.seen(name, citation.source, chunks[0].version),
        still_there=citation.quote in text_of(chunks, settings.max_file_bytes),
        quoted_text=kept,
    )


def text_of(chunks: list[Chunk], max_bytes: int | None) -> str:
    """The text of the document these (all of its) chunks are, as their offsets count it.

    Read from its file when that is still on this machine and unchanged (every chunk
    found at its offsets); else rebuilt from the chunks (an index on a Chroma server may
    have been filled elsewhere), where whitespace the splitter dropped between two
    chunks, often a line break, comes back as spaces.
    """
    chunks = sorted(chunks, key=lambda c: c.start)
    try:
        text = read_file(Path(chunks[0].path), max_bytes).text
    except (UnreadableFile, OSError):  # gone, changed type, or "" (not a file)
        text = ""
    if all(text[c.start : c.end] == c.text for c in chunks):
        return text
    text = ""
    for chunk in chunks:
        if chunk.end > len(text):  # else it lies inside what is already there
            text = text.ljust(chunk.start) + chunk.text[max(0, len(text) - chunk.start) :]
    return text
