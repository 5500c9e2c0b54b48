"""The library: what every collection of a process shares.

Settings, the models (the embedder, the reading model, the reader built from them), the
Chroma index (embedded or a server: :func:`rag.index.client.chroma_for` decides once),
the collections opened so far, the document versions and the saved conversations. One
per process, shared by the chat's threads; a :class:`rag.collection.Collection` holds one
and never opens a client of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from rag.config import GenerationSettings, ReadingSettings, Settings, collection_name
from rag.documents.ingest import Splitter
from rag.history import History
from rag.index.client import Chroma, chroma_for
from rag.index.embed import SentenceEmbeddings
from rag.index.store import collection_names
from rag.index.versions import Versions
from rag.reading.abstain import AbstentionModel
from rag.reading.answer import Answerer
from rag.reading.crossencoder import WEIGHTS, CrossEncoder
from rag.reading.extractive import ExtractiveAnswerer
from rag.reading.generate import LLMAnswerer, ModelVerifier, chat_model, supporting_span
from rag.reading.ranker import SentenceRanker

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from langchain_core.language_models import LanguageModelLike

C = TypeVar("C")


class Library:
    """Settings, models, the index's client, open collections, versions and history.

    ``settings.collection`` is the default collection. ``answerer`` replaces the reader
    the settings make; ``llm``, a LangChain chat model, makes a generating one.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        answerer: Answerer | None = None,
        llm: LanguageModelLike | None = None,
    ) -> None:
        if answerer is not None and llm is not None:
            raise ValueError("pass either an answerer or an llm (which makes one), not both")
        self.settings = settings
        self.chroma: Chroma = chroma_for(settings.chroma, settings.index_dir)
        self._answerer = answerer
        self._llm = llm
        self._open: dict[str, Any] = {}
        self._opening = threading.Lock()  # the chat's threads open collections at once

    @property
    def client(self) -> ClientAPI:
        """The Chroma client, one for all collections; read each time, since an embedded
        one is replaced when another process wrote (:class:`rag.index.store.Store`)."""
        return self.chroma.client

    @cached_property
    def embeddings(self) -> SentenceEmbeddings:
        e = self.settings.embedding
        return SentenceEmbeddings(e.model, precision=e.precision)

    @cached_property
    def crossencoder(self) -> CrossEncoder:
        """The trained reading model (:mod:`rag.reading.crossencoder`, over the packaged
        MiniLM whatever ``RAG_EMBEDDING_MODEL`` says): the shipped one, or
        ``RAG_READER_WEIGHTS``."""
        reading = self.settings.reading
        weights = reading.reader_weights or WEIGHTS
        return CrossEncoder.load(
            weights=weights, card=weights.with_suffix(".json"), precision=reading.reader_precision
        )

    @cached_property
    def splitter(self) -> Splitter:
        e = self.settings.embedding
        return Splitter(self.embeddings.tokenizer, e.chunk_size, e.chunk_overlap)

    @cached_property
    def answerer(self) -> Answerer:
        """The answerer given, else the one the settings make: extractive, or a language
        model (``llm`` or ``RAG_LLM``) that falls back to the extractive one when down."""
        if self._answerer is not None:
            return self._answerer
        s = self.settings
        return make_answerer(
            s.reading, s.generation, self.embeddings, lambda: self.crossencoder, self._llm
        )

    @cached_property
    def versions(self) -> Versions:
        """When each document version was first indexed, and the latest ones' text."""
        return Versions(self.settings.history_path, self.settings.keep_versions)

    @cached_property
    def history(self) -> History:
        """The saved conversations of every user and collection (``RAG_HISTORY_DB``)."""
        return History(self.settings.history_path)

    def warm(self) -> None:
        """Load the question encoder and the reading model now rather than on the first
        question."""
        self.embeddings.embed_query("warm-up")
        self.crossencoder.answers("warm-up", ["warm-up"])  # also used by check()

    # --- the collections ---

    def settings_for(self, name: str) -> Settings:
        """The settings of the collection ``name``: the library's, naming it."""
        if name == self.settings.collection:
            return self.settings
        return self.settings.model_copy(update={"collection": name})

    def collection_names(self) -> list[str]:
        """The names of every collection of the index (on a server: those rag made), the
        default one first; nothing is opened."""
        default = self.settings.collection
        return [default, *(n for n in collection_names(self.client) if n != default)]

    def opened(self, name: str, make: Callable[[str], C]) -> C:
        """The collection ``name`` opened before, else ``make(name)``, kept: one object
        per collection, whichever thread asks first."""
        name = collection_name(name)
        with self._opening:
            found = self._open.get(name)
            if found is None:
                found = self._open[name] = make(name)
        return found

    def forget(self, name: str) -> None:
        """Drop the collection ``name`` from those opened (it was deleted, or never made)."""
        with self._opening:
            self._open.pop(name, None)


def make_answerer(
    r: ReadingSettings,
    g: GenerationSettings,
    embeddings: SentenceEmbeddings,
    crossencoder: Callable[[], CrossEncoder],
    llm: LanguageModelLike | None = None,
) -> Answerer:
    """The reader the reading and generation settings name. ``crossencoder`` loads the
    reading model, called only when a setting uses it (the load takes seconds)."""
    reading = crossencoder() if "crossencoder" in (r.reader, r.abstention) else None
    abstention: AbstentionModel | CrossEncoder | None = None
    if r.abstention == "model":
        abstention = AbstentionModel.load()
    elif r.abstention == "crossencoder":
        abstention = reading
    extractive = ExtractiveAnswerer(
        embeddings,
        min_score=r.min_score,
        max_sentences=r.max_sentences,
        margin=r.sentence_margin,
        abstention=abstention,
        min_confidence=r.min_confidence,
        ranker=SentenceRanker.load() if r.reader in ("ranker", "crossencoder") else None,
        crossencoder=reading if r.reader == "crossencoder" else None,
    )
    llm = llm or chat_model(g)
    if llm is None:
        return extractive
    verify = ModelVerifier(crossencoder()) if g.verifier == "crossencoder" else None
    return LLMAnswerer(
        llm,
        max_sentences=r.max_sentences,
        unsupported=g.unsupported,
        fallback=extractive,
        verify=verify or supporting_span,
    )
