"""The RAG instance: one index, one corpus, one answerer, wired together."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig

from rag.answering import answer_chain, answer_question, stream_answer
from rag.config import Settings, collection_name
from rag.documents.formats import Layout, UnreadableFile, read_file
from rag.documents.ingest import Chunk, IngestReport, Splitter, absolute
from rag.errors import AlreadyExists, BadInput, IndexBusy, NotFound, TooLarge
from rag.history import History
from rag.index.bm25 import LexicalIndex
from rag.index.client import Chroma, chroma_for
from rag.index.embed import SentenceEmbeddings
from rag.index.store import Store, collection_names
from rag.index.sync import Indexer, accept_uploads, folders_among, holding
from rag.index.versions import CitedVersion, Versions
from rag.reading.abstain import AbstentionModel
from rag.reading.answer import Answer, Answerer
from rag.reading.check import Check, Checker
from rag.reading.cite import Citation
from rag.reading.conversation import Turn
from rag.reading.crossencoder import CrossEncoder
from rag.reading.extractive import ExtractiveAnswerer, SentenceVectors
from rag.reading.generate import LLMAnswerer, ModelVerifier, chat_model, supporting_span
from rag.reading.ranker import SentenceRanker
from rag.retrieve import HybridRetriever, Passage, PassageRetriever

__all__ = ["RAG", "CollectionInfo", "IndexBusy", "holding"]  # IndexBusy, holding: older homes

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_core.language_models import LanguageModelLike


@dataclass(frozen=True)
class CollectionInfo:
    """One collection: its name, the folders it indexes (the first takes uploads), and
    how many chunks it holds."""

    name: str
    folders: list[Path]
    chunks: int
    default: bool = False
    """The collection ``RAG()`` answers from (``RAG_COLLECTION``)."""

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "folders": [str(f) for f in self.folders],
            "chunks": self.chunks,
            "default": self.default,
        }


class RAG:
    """Question answering over a folder of documents, with exact citations.

    Example:
        >>> r = RAG(index_dir="/tmp/my-index", corpus_dir="docs")  # doctest: +SKIP
        >>> r.ingest()          # index docs/ (re-running changes only what changed)
        >>> a = r.answer("What would Ukraine get in return?")
        >>> a.text, a.citations[0].quote

    ``answerer`` replaces the extractive answerer (see :class:`rag.reading.answer.Answerer`);
    ``llm``, any LangChain chat model, answers with generated text whose every sentence
    is checked against the passage it cites (:mod:`rag.reading.generate`).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        answerer: Answerer | None = None,
        llm: LanguageModelLike | None = None,
        **overrides: Any,
    ) -> None:
        if settings is not None and overrides:
            raise ValueError("pass either settings or keyword overrides, not both")
        if answerer is not None and llm is not None:
            raise ValueError("pass either an answerer or an llm (which makes one), not both")
        self.settings = settings or Settings(**overrides)
        self._answerer = answerer
        self._llm = llm
        self._documents: tuple[str, dict[str, int]] | None = None
        self._root = self
        """The RAG this one was opened from by :meth:`collection` (itself if none): its
        models, client and records serve every collection."""
        self._family: dict[str, RAG] = {self.settings.collection: self}
        self._opening = threading.Lock()  # the chat's threads open collections at once

    @cached_property
    def embeddings(self) -> SentenceEmbeddings:
        if self._root is not self:
            return self._root.embeddings
        s = self.settings
        return SentenceEmbeddings(s.embedding_model, precision=s.embedding_precision)

    @cached_property
    def crossencoder(self) -> CrossEncoder:
        """The trained reading model (:mod:`rag.reading.crossencoder`, over the packaged MiniLM
        whatever ``RAG_EMBEDDING_MODEL`` says); one per process."""
        if self._root is not self:
            return self._root.crossencoder
        return CrossEncoder.load()

    @cached_property
    def chroma(self) -> Chroma:
        """The index, embedded or on a server (decided once, by :func:`chroma_for`): the
        root's, shared by every collection."""
        if self._root is not self:
            return self._root.chroma
        return chroma_for(self.settings)

    @property
    def client(self) -> ClientAPI:
        """The Chroma client, one for all collections; read from :attr:`chroma` each time
        since an embedded one is replaced when another process wrote."""
        return self.chroma.client

    @cached_property
    def store(self) -> Store:
        return Store(self.client, self.settings.collection, self.embeddings, self.chroma.reopen)

    @cached_property
    def versions(self) -> Versions:
        """When each document version was first indexed, and the latest ones' text."""
        if self._root is not self:
            return self._root.versions
        return Versions(self.settings.history_path, self.settings.keep_versions)

    @cached_property
    def history(self) -> History:
        """The saved conversations of every user and collection (``RAG_HISTORY_DB``)."""
        if self._root is not self:
            return self._root.history
        return History(self.settings.history_path)

    # --- collections ---

    def collection(self, name: str) -> RAG:
        """This RAG over the collection ``name``: the same settings and models, its own
        index, BM25 index and folders. Opening one that does not exist yet makes it
        (:meth:`create_collection` gives it a folder of its own first)."""
        name = collection_name(name)
        root = self._root
        with root._opening:
            found = root._family.get(name)
            if found is None:
                settings = self.settings.model_copy(update={"collection": name})
                found = RAG(settings, answerer=root._answerer, llm=root._llm)
                found._root = root
                found._family = root._family
                root._family[name] = found
        return found

    def collection_names(self) -> list[str]:
        """The names of every collection of the index (on a server: those rag made), the
        default one first; unlike :meth:`collections`, nothing is opened or counted."""
        default = self._root.settings.collection
        return [default, *(n for n in collection_names(self.client) if n != default)]

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its folders and chunk count, the default one first."""
        opened = [self.collection(n) for n in self.collection_names()]
        return [
            CollectionInfo(c.settings.collection, c.folders, c.count(), i == 0)
            for i, c in enumerate(opened)
        ]

    def create_collection(self, name: str, folders: Iterable[str | Path] | None = None) -> RAG:
        """Make the collection ``name`` indexing ``folders`` (default: a new folder of its
        own in RAG_INDEX_DIR's parent, ``collections/<name>``; the first takes uploads),
        and return it, empty: :meth:`ingest` fills it. Raises :class:`AlreadyExists` for
        a name taken, :class:`BadInput` for one not allowed or a folder that is a file
        (both ValueErrors)."""
        if name in self.collection_names():
            raise AlreadyExists(
                f"a collection named {name!r} exists already", code="invalid_collection"
            )
        target = self.collection(name)
        paths = [absolute(Path(f)) for f in folders or ()]
        paths = paths or [self.settings.collections_dir / target.settings.collection]
        for path in paths:
            if path.exists() and not path.is_dir():
                self._root._family.pop(target.settings.collection, None)
                raise BadInput(f"{path} is not a folder", code="invalid_collection")
        paths[0].mkdir(parents=True, exist_ok=True)
        target.store.record_folders(paths)
        target.__dict__.pop("folders", None)
        return target

    def delete_collection(self, name: str, *, wait: float = 0) -> None:
        """Delete the collection ``name``: its vectors, its BM25 index and the versions
        recorded of its documents. Its folders and their files stay, and so do saved
        conversations (their citations then say the document is gone). The default
        collection is not deleted (:class:`BadInput`; remove its documents instead).
        Raises :class:`NotFound` (a KeyError) for no such collection,
        :class:`IndexBusy` while it is being written."""
        if name == self._root.settings.collection:
            raise BadInput(
                f"{name!r} is the default collection (RAG_COLLECTION); not deleted",
                code="invalid_collection",
            )
        if name not in self.collection_names():
            raise NotFound(f"no collection named {name!r}", code="collection_not_found")
        target = self.collection(name)
        with target.ingest_lock(wait):
            target.store.drop()
            target._lexical_cache().unlink(missing_ok=True)
            self.versions.forget(name)
        self._root._family.pop(name, None)

    @cached_property
    def folders(self) -> list[Path]:
        """The folders the collection indexes: those :meth:`create_collection` recorded
        (with any later ingested), else RAG_CORPUS_DIR."""
        return self.store.folders() or [self.settings.corpus_dir]

    @property
    def corpus_dir(self) -> Path:
        """The collection's own folder: uploads go here, and documents in it are named by
        their path in it."""
        return self.folders[0]

    @cached_property
    def answerer(self) -> Answerer:
        """The answerer given, else the one the settings make: extractive, or a language
        model (``llm`` or ``RAG_LLM``) that falls back to the extractive one when down."""
        if self._root is not self:
            return self._root.answerer
        if self._answerer is not None:
            return self._answerer
        s = self.settings
        reading = self.crossencoder if "crossencoder" in (s.reader, s.abstention) else None
        abstention: AbstentionModel | CrossEncoder | None = None
        if s.abstention == "model":
            abstention = AbstentionModel.load()
        elif s.abstention == "crossencoder":
            abstention = reading
        extractive = ExtractiveAnswerer(
            self.embeddings,
            min_score=s.min_score,
            max_sentences=s.max_sentences,
            margin=s.sentence_margin,
            abstention=abstention,
            min_confidence=s.min_confidence,
            ranker=SentenceRanker.load() if s.reader in ("ranker", "crossencoder") else None,
            crossencoder=reading if s.reader == "crossencoder" else None,
        )
        llm = self._llm or chat_model(s)
        if llm is None:
            return extractive
        verify = ModelVerifier(self.crossencoder) if s.verifier == "crossencoder" else None
        return LLMAnswerer(
            llm,
            max_sentences=s.max_sentences,
            unsupported=s.unsupported,
            fallback=extractive,
            verify=verify or supporting_span,
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

    def _remember_folders(self, sources: list[str | Path | Document]) -> None:
        """A collection with recorded folders adds the folders ingested into it, so that
        :meth:`ingest` with no sources keeps them in sync."""
        recorded = self.store.folders()
        if recorded is None:
            return
        new = [f for f in folders_among(sources) if f not in recorded]
        if new:
            self.store.record_folders([*recorded, *new])
            self.__dict__.pop("folders", None)

    def ingest_lock(self, wait: float = 0) -> AbstractContextManager[None]:
        """Hold the index's ingest lock (what :meth:`ingest` takes); wait up to ``wait``
        seconds for another holder, then raise :class:`IndexBusy`."""
        index = self.chroma.describe(self.settings.collection)
        busy = f"another ingest is writing the index ({index}); "
        return holding(self._lock_path(), wait, busy + "try again when it has finished")

    def _lock_path(self) -> Path:
        return self.chroma.lock_path(self.settings.collection)

    def _sync(
        self,
        sources: Iterable[str | Path | Document] | None,
        *,
        prune: bool,
        progress: bool | None,
    ) -> IngestReport:
        indexer = Indexer(
            self.store,
            self.splitter,
            self.versions,
            self.settings.collection,
            self.settings.max_file_bytes,
            self.warm_index,
        )
        sources = self.folders if sources is None else sources
        return indexer.sync(sources, self.corpus_dir, prune=prune, progress=progress)

    def add_files(
        self, paths: Iterable[str | Path], *, progress: bool | None = None, wait: float = 600
    ) -> IngestReport:
        """Copy files into the corpus folder and index them (the chat's upload).

        Each file passes the checks of :meth:`ingest` (type, size, readable, not empty)
        before it is copied; one that fails is reported in ``skipped`` with the reason
        and not copied, and so is one whose name a different file already has in the
        folder (nothing there is overwritten). A file identical to the one in the folder
        is accepted and left unchanged.
        """
        accepted, checks = accept_uploads(paths, self.corpus_dir, self.settings.max_file_bytes)
        if not accepted:
            return checks
        report = self.ingest(accepted, progress=progress, wait=wait)
        report.skipped[:0] = checks.skipped
        return report

    def warm(self) -> None:
        """Load the question encoder and the reading model now rather than on the first
        question (the chat does this while its web framework loads). The index is not
        opened: an embedded one that another process is filling must be opened only after
        that ingest (its lock)."""
        self.embeddings.embed_query("warm-up")
        self.crossencoder.answers("warm-up", ["warm-up"])  # also used by check()

    def warm_index(self) -> None:
        """Make ready what the index's first question would otherwise wait for: with
        hybrid retrieval, the BM25 index (read from disk when current, else built from the
        chunks: 12 s at 10,000 articles). An ingest that changes the index calls it; so
        does the chat after checking the corpus folder."""
        if self.settings.retrieval == "hybrid":
            self.lexical.refresh()

    def count(self) -> int:
        """Number of chunks in the index."""
        return self.store.count()

    @cached_property
    def lexical(self) -> LexicalIndex:
        """The BM25 side of hybrid retrieval, saved beside an embedded index (in the
        cache folder for a server's collection) so a restart need not rebuild it."""
        return LexicalIndex(self.store, self._lexical_cache())

    def _lexical_cache(self) -> Path:
        return self.chroma.lexical_cache(self.settings.collection)

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

    def chain(self) -> Runnable[str | dict[str, Any], Answer]:
        """A LangChain Runnable: question -> retrieved passages -> cited :class:`Answer`,
        the same path as :meth:`answer` (:func:`rag.answering.answer_chain`).

        The input is a question, or ``{"question": ..., "history": [...]}`` for a
        follow-up (history as in :meth:`answer`). The question is cleaned first (control
        characters and invisible marks removed); an empty or over-long one gets an
        abstaining Answer that says why, with no retrieval. Retrieval runs as a child of
        this run, so callbacks see both.
        """
        return answer_chain(self)

    def answer(self, question: str, history: Iterable[Turn] | None = None) -> Answer:
        """Answer ``question`` from the index, citing exact quotes, or abstain
        (:func:`rag.answering.answer_question`: retrieve, read, compose).

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
        return Checker(self.retrieve, self.crossencoder, SentenceVectors(self.embeddings))

    def documents(self) -> dict[str, int]:
        """Every indexed document with its number of chunks, by name.

        It reads the metadata of every chunk (5 s at 10,000 articles), so the result is
        kept until the index changes (its generation token, set by every write).
        """
        generation = self.store.generation()
        if not generation or self._documents is None or self._documents[0] != generation:
            found = {s: len(e.ids) for s, e in sorted(self.store.sources().items())}
            self._documents = (generation, found)
        return dict(self._documents[1])

    def document_layout(self, source: str) -> Layout:
        """Where the pages and sections of an indexed document begin in its text, as its
        chunks recorded them. Raises KeyError for a document not in the index."""
        chunks = self.store.chunks(source)
        if not chunks:
            raise NotFound(f"{source!r} is not in the index", code="document_not_found")
        return Layout.merged([c.layout for c in chunks])

    def cited_version(self, citation: Citation) -> CitedVersion:
        """How the document ``citation`` quotes stands now: changed since (when, and
        whether the quote is still in it), or gone; with the quoted version's text when
        it is kept (``RAG_KEEP_VERSIONS``). A citation made before versions were
        recorded counts as unchanged."""
        if not citation.version:
            return CitedVersion(changed=False)
        chunks = self.store.chunks(citation.source)
        if chunks and chunks[0].version == citation.version:
            return CitedVersion(changed=False)
        name = self.settings.collection
        kept = self.versions.text(name, citation.source, citation.version)
        if not chunks:
            return CitedVersion(changed=True, removed=True, still_there=False, quoted_text=kept)
        return CitedVersion(
            changed=True,
            since=self.versions.seen(name, citation.source, chunks[0].version),
            still_there=citation.quote in self._text_of(chunks),
            quoted_text=kept,
        )

    def document_file(self, source: str) -> Path | None:
        """The file an indexed document was read from, when it is still in the corpus
        folder; None otherwise (outside it, gone, or not from a file). Raises KeyError
        for a document not in the index."""
        chunks = self.store.chunks(source)
        if not chunks:
            raise NotFound(f"{source!r} is not in the index", code="document_not_found")
        if not chunks[0].path:
            return None
        path = Path(chunks[0].path).resolve()
        inside = any(path.is_relative_to(f.resolve()) for f in self.folders)
        return path if path.is_file() and inside else None

    def document_text(self, source: str) -> str:
        """The text of an indexed document, as its citations' offsets count it.

        Read from its file when that is still on this machine and unchanged (every chunk
        found at its offsets); else rebuilt from the chunks (an index on a Chroma server
        may have been filled elsewhere), where whitespace the splitter dropped between
        two chunks, often a line break, comes back as spaces.
        Raises KeyError for a document not in the index.
        """
        chunks = self.store.chunks(source)
        if not chunks:
            raise NotFound(f"{source!r} is not in the index", code="document_not_found")
        return self._text_of(chunks)

    def _text_of(self, chunks: list[Chunk]) -> str:
        """:meth:`document_text` of the document these (all of its) chunks are."""
        chunks = sorted(chunks, key=lambda c: c.start)
        try:
            text = read_file(Path(chunks[0].path), self.settings.max_file_bytes).text
        except (UnreadableFile, OSError):  # gone, changed type, or "" (not a file)
            text = ""
        if all(text[c.start : c.end] == c.text for c in chunks):
            return text
        text = ""
        for chunk in chunks:
            if chunk.end > len(text):  # else it lies inside what is already there
                text = text.ljust(chunk.start) + chunk.text[max(0, len(text) - chunk.start) :]
        return text
