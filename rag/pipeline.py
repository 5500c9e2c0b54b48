"""``RAG``, the public face: a collection of a library of its own, with the library's
collections (open, list, create, delete) at hand.

The work is done below it: :class:`rag.library.Library` (settings, models, the Chroma
client, versions, history), :class:`rag.collection.Collection` (one collection: ingest,
answer, stream, check, documents), :mod:`rag.answering` (the path a question takes) and
:mod:`rag.index.sync` (the path a document takes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.collection import Collection
from rag.config import Settings
from rag.documents.ingest import Splitter, absolute
from rag.errors import AlreadyExists, BadInput, IndexBusy, NotFound
from rag.history import History
from rag.index.embed import SentenceEmbeddings
from rag.index.sync import holding
from rag.index.versions import Versions
from rag.library import Library
from rag.reading.answer import Answerer
from rag.reading.crossencoder import CrossEncoder

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


class RAG(Collection):
    """Question answering over a folder of documents, with exact citations.

    Example:
        >>> r = RAG(index_dir="/tmp/my-index", corpus_dir="docs")  # doctest: +SKIP
        >>> r.ingest()          # index docs/ (re-running changes only what changed)
        >>> a = r.answer("What would Ukraine get in return?")
        >>> a.text, a.citations[0].quote

    ``answerer`` replaces the extractive answerer (see :class:`rag.reading.answer.Answerer`);
    ``llm``, any LangChain chat model, answers with generated text whose every sentence
    is checked against the passage it cites (:mod:`rag.reading.generate`). Each ``RAG``
    made this way has a :class:`Library` of its own; :meth:`collection` opens the
    library's other collections, sharing it.
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
        library = Library(settings or Settings(**overrides), answerer=answerer, llm=llm)
        super().__init__(library)
        library.opened(self.settings.collection, lambda _: self)

    # --- what the library shares ---

    @property
    def client(self) -> ClientAPI:
        """The Chroma client, one for all collections (:attr:`Library.client`)."""
        return self.library.client

    @property
    def embeddings(self) -> SentenceEmbeddings:
        return self.library.embeddings

    @property
    def crossencoder(self) -> CrossEncoder:
        """The trained reading model, one per library."""
        return self.library.crossencoder

    @property
    def splitter(self) -> Splitter:
        return self.library.splitter

    @property
    def versions(self) -> Versions:
        """When each document version was first indexed, and the latest ones' text."""
        return self.library.versions

    @property
    def history(self) -> History:
        """The saved conversations of every user and collection (``RAG_HISTORY_DB``)."""
        return self.library.history

    # --- the library's collections ---

    @classmethod
    def _of(cls, library: Library, name: str) -> RAG:
        """The RAG over the collection ``name`` of ``library`` (what :meth:`collection`
        opens): a Collection that also reaches the library's other collections."""
        opened = cls.__new__(cls)
        Collection.__init__(opened, library, name)
        return opened

    def collection(self, name: str) -> RAG:
        """This RAG over the collection ``name``: the same settings and models, its own
        index, BM25 index and folders. Opening one that does not exist yet makes it
        (:meth:`create_collection` gives it a folder of its own first)."""
        return self.library.opened(name, lambda n: RAG._of(self.library, n))

    def collection_names(self) -> list[str]:
        """The names of every collection of the index (on a server: those rag made), the
        default one first; unlike :meth:`collections`, nothing is opened or counted."""
        return self.library.collection_names()

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
                self.library.forget(target.settings.collection)
                raise BadInput(f"{path} is not a folder", code="invalid_collection")
        paths[0].mkdir(parents=True, exist_ok=True)
        target.record_folders(paths)
        return target

    def delete_collection(self, name: str, *, wait: float = 0) -> None:
        """Delete the collection ``name``: its vectors, its BM25 index and the versions
        recorded of its documents. Its folders and their files stay, and so do saved
        conversations (their citations then say the document is gone). The default
        collection is not deleted (:class:`BadInput`; remove its documents instead).
        Raises :class:`NotFound` (a KeyError) for no such collection,
        :class:`IndexBusy` while it is being written."""
        if name == self.library.settings.collection:
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
            self.library.versions.forget(name)
        self.library.forget(name)
