"""The RAG instance: one index, one corpus, one answerer, wired together."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from rag.config import Settings, collection_name
from rag.documents.formats import Layout, UnreadableFile, read_file
from rag.documents.ingest import Chunk, IngestReport, Splitter, absolute, load, version_of
from rag.errors import AlreadyExists, BadInput, IndexBusy, NotFound, TooLarge
from rag.history import History
from rag.index.bm25 import LexicalIndex
from rag.index.embed import SentenceEmbeddings, cache_dir
from rag.index.store import IndexedSource, Store, collection_names, open_client
from rag.index.versions import CitedVersion, Versions
from rag.reading.abstain import AbstentionModel
from rag.reading.answer import Answer, Answerer, clean_question, refusal
from rag.reading.check import Check, Checker
from rag.reading.cite import Citation
from rag.reading.conversation import Asked, Turn, earlier_questions
from rag.reading.crossencoder import CrossEncoder
from rag.reading.extractive import ExtractiveAnswerer, SentenceVectors
from rag.reading.generate import LLMAnswerer, ModelVerifier, chat_model, supporting_span
from rag.reading.ranker import SentenceRanker
from rag.retrieve import HybridRetriever, Passage, PassageRetriever

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_core.language_models import LanguageModelLike


@contextmanager
def holding(path: Path, wait: float | None, busy: str, notice: str = "") -> Iterator[None]:
    """Hold the file lock at ``path`` for the block. Another holder is waited for up to
    ``wait`` seconds (None: as long as it takes), with ``notice`` on stderr if given;
    then :class:`IndexBusy` is raised with the message ``busy``."""
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if notice:
            print(notice, file=sys.stderr)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise IndexBusy(busy) from None
    try:
        yield
    finally:
        lock.release()


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

    @property
    def client(self) -> ClientAPI:
        """The Chroma client (embedded RAG_INDEX_DIR or the server), one for all collections:
        the root's, read from it each time since :meth:`_fresh_client` may replace it."""
        return self._root._client

    @cached_property
    def _client(self) -> ClientAPI:
        return open_client(self.settings)

    @cached_property
    def store(self) -> Store:
        reopen = None if self.settings.chroma_host else self._root._fresh_client
        return Store(self.client, self.settings.collection, self.embeddings, reopen)

    def _fresh_client(self) -> ClientAPI:
        """A new embedded client, which reads what other processes wrote; it replaces the
        root's, so the old one (and the vector index it holds in memory) is freed once every
        collection's store has moved on to a newer one."""
        client = open_client(self.settings, fresh=True)
        self.__dict__["_client"] = client
        return client

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
        given = [absolute(Path(s)) for s in sources if not isinstance(s, Document)]
        new = [f for f in given if f.is_dir() and f not in recorded]
        if new:
            self.store.record_folders([*recorded, *new])
            self.__dict__.pop("folders", None)

    def ingest_lock(self, wait: float = 0) -> AbstractContextManager[None]:
        """Hold the index's ingest lock (what :meth:`ingest` takes); wait up to ``wait``
        seconds for another holder, then raise :class:`IndexBusy`."""
        busy = f"another ingest is writing the index ({self._index_name()}); "
        return holding(self._lock_path(), wait, busy + "try again when it has finished")

    def _lock_path(self) -> Path:
        s = self.settings
        if s.chroma_host is None:
            s.index_dir.mkdir(parents=True, exist_ok=True)
            return s.index_dir / ".ingest.lock"
        # A server's collection is locked per machine; other machines rely on upserts.
        name = f"rag-ingest-{s.chroma_host}-{s.chroma_port}-{s.collection}.lock"
        return Path(tempfile.gettempdir()) / name

    def _index_name(self) -> str:
        s = self.settings
        if s.chroma_host is None:
            return str(s.index_dir)
        return f"collection {s.collection} on {s.chroma_host}:{s.chroma_port}"

    def _sync(
        self,
        sources: Iterable[str | Path | Document] | None,
        *,
        prune: bool,
        progress: bool | None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        docs, folders = load(
            self.folders if sources is None else sources,
            self.corpus_dir,
            report,
            max_bytes=self.settings.max_file_bytes,
        )
        indexed = self.store.sources()
        to_add, to_relabel, to_delete = [], [], []
        for doc in docs:
            old = indexed.pop(doc.source, None) or IndexedSource()
            if old.holds(self.splitter.digest(doc.text, doc.layout), doc.path):
                report.unchanged.append(doc.source)
                continue
            chunks = self.splitter.split(doc.text, doc.source, doc.path, doc.layout)
            old_ids = old.ids - old.outdated  # outdated chunks are embedded again
            new = [c for c in chunks if c.id not in old_ids]
            stale = old.ids - {c.id for c in chunks}
            to_add += new
            to_relabel += [c for c in chunks if c.id in old_ids]
            to_delete += stale
            if not old.ids:
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
        report.precision = self.store.add(to_add, progress=progress)
        self.store.relabel(to_relabel)
        self.store.delete(to_delete)
        if to_add or to_delete:
            self.warm_index()  # the BM25 index is rebuilt here, not on the next question
        self.versions.record(
            self.settings.collection, ((d.source, version_of(d.text), d.text) for d in docs)
        )
        report.chunks_added, report.chunks_removed = len(to_add), len(to_delete)
        report.seconds = time.perf_counter() - started
        return report

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
        folder = self.corpus_dir
        checks = IngestReport()
        accepted: list[tuple[Path, Path]] = []
        for path in map(Path, paths):
            target = folder / path.name
            before = len(checks.skipped)
            load([path], folder, checks, max_bytes=self.settings.max_file_bytes)
            if len(checks.skipped) > before:
                checks.skipped[-1] = (path.name, checks.skipped[-1][1])
            elif path.name.startswith("."):
                checks.skipped.append(
                    (path.name, "hidden files (name starting with '.') are not indexed")
                )
            elif target.exists() and target.read_bytes() != path.read_bytes():
                reason = "a different file of this name is in the corpus folder; rename one"
                checks.skipped.append((path.name, reason))
            else:
                accepted.append((path, target))
        folder.mkdir(parents=True, exist_ok=True)
        for path, target in accepted:
            if not target.exists():
                shutil.copyfile(path, target)
        if not accepted:
            return checks
        report = self.ingest([target for _, target in accepted], progress=progress, wait=wait)
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
        s = self.settings
        if s.chroma_host is None:
            return s.index_dir / f"bm25-{s.collection}.npz"
        return cache_dir() / "bm25" / f"{s.chroma_host}-{s.chroma_port}-{s.collection}.npz"

    def retriever(self, k: int | None = None) -> BaseRetriever:
        """The retriever ``RAG_RETRIEVAL`` names, returning ``k`` passages (default ``RAG_K``)."""
        k = k or self.settings.k
        if self.settings.retrieval == "hybrid":
            return HybridRetriever(store=self.store, lexical=self.lexical, k=k)
        return PassageRetriever(store=self.store, k=k)

    def retrieve(self, question: str, k: int | None = None) -> list[Passage]:
        """The ``k`` passages nearest to ``question``, best first: by cosine similarity
        (``Passage.score``) for dense retrieval, by fused rank for hybrid."""
        return [Passage.from_document(d) for d in self.retriever(k).invoke(question)]

    def chain(self) -> Runnable[str | dict[str, Any], Answer]:
        """A LangChain Runnable: question -> retrieved passages -> cited :class:`Answer`.

        The input is a question, or ``{"question": ..., "history": [...]}`` for a
        follow-up (history as in :meth:`answer`). The question is cleaned first (control
        characters and invisible marks removed); an empty or over-long one gets an
        abstaining Answer that says why, with no retrieval. Retrieval runs as a child of
        this run, so callbacks see both.
        """
        retrieve = self._retrieve_passages()

        def run(inputs: str | dict[str, Any], config: RunnableConfig) -> Answer:
            asked = self._ask(inputs)
            if isinstance(asked, Answer):
                return self._from_here(asked)
            passages = retrieve.invoke(asked.search, config)
            return self._from_here(
                asked.finish(self.answerer(asked.focus, passages, **asked.extra))
            )

        return RunnableLambda(run).with_config(run_name="rag")

    def _retrieve_passages(self) -> Runnable[str, list[Passage]]:
        return self.retriever() | RunnableLambda(
            lambda docs: [Passage.from_document(d) for d in docs]
        )

    def _from_here(self, answer: Answer) -> Answer:
        """``answer``, naming the collection it was answered from."""
        return replace(answer, collection=self.settings.collection)

    def _ask(self, inputs: str | dict[str, Any]) -> Asked | Answer:
        """The question cleaned and, for a follow-up, rewritten; or the Answer refusing it."""
        if isinstance(inputs, str):
            inputs = {"question": inputs}
        cleaned = clean_question(inputs["question"])
        why_not = refusal(cleaned, self.settings.max_question_chars)
        if why_not is not None:
            return Answer(cleaned, why_not, abstained=True)
        earlier = [clean_question(q) for q in earlier_questions(inputs.get("history"))]
        return Asked.of(cleaned, earlier)

    def answer(self, question: str, history: Iterable[Turn] | None = None) -> Answer:
        """Answer ``question`` from the index, citing exact quotes, or abstain.

        ``history`` is the conversation so far, oldest first: earlier questions (str),
        earlier :class:`Answer` objects, or chat messages (``{"role": "user", "content":
        ...}``; only the user's count). A follow-up ("and what did Europe think of it?")
        is then rewritten into a standalone question, returned as ``Answer.rewritten``.

        Example:
            >>> first = rag.answer("What does the plan ask of Ukraine?")  # doctest: +SKIP
            >>> rag.answer("And what did Europe think of it?", history=[first]).rewritten
            'what did Europe think of it? (following: What does the plan ask of Ukraine?)'
        """
        return self.chain().invoke(self._inputs(question, history))

    def stream(self, question: str, history: Iterable[Turn] | None = None) -> Iterator[Answer]:
        """Like :meth:`answer`, as the answer grows: each item is the answer so far, the
        last one complete. An answerer with a ``stream`` method (same arguments, yielding
        Answers) is streamed; one without (the extractive one) gives its Answer whole."""
        inputs = self._inputs(question, history)
        streaming = getattr(self.answerer, "stream", None)
        if streaming is None:
            yield self.chain().invoke(inputs)
            return
        asked = self._ask(inputs)
        if isinstance(asked, Answer):
            yield self._from_here(asked)
            return
        passages = self._retrieve_passages().invoke(asked.search)
        for partial in streaming(asked.focus, passages, **asked.extra):
            yield self._from_here(asked.finish(partial))

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

    @staticmethod
    def _inputs(question: str, history: Iterable[Turn] | None) -> dict[str, Any]:
        return {"question": question, "history": list(history or ())}

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
