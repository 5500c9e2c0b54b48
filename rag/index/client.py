"""Where the index lives: an embedded Chroma folder or a Chroma server, decided once.

Everything that differs between the two (the client, whether it must be reopened to see
other processes' writes, where the ingest lock and the BM25 file go, how the index is
named in messages) is a method of :class:`EmbeddedChroma` or :class:`ServedChroma`;
:func:`chroma_for` picks one from the Chroma settings (``settings.chroma``), and no other
code asks which it is.
"""

from __future__ import annotations

import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings as ClientSettings

from rag.config import ChromaSettings
from rag.index.embed import cache_dir


class Chroma(ABC):
    """A Chroma index, embedded or served, shared by every collection of a library."""

    reopen: Callable[[], ClientAPI] | None = None
    """A fresh client that reads what other processes wrote; None when every client
    already does (a server)."""

    def __init__(self, chroma: ChromaSettings) -> None:
        ca_file = chroma.ca_file
        self._settings = ClientSettings(
            anonymized_telemetry=False,
            chroma_server_ssl_verify=str(ca_file) if ca_file else None,
        )
        self._client: ClientAPI | None = None
        self._opening = threading.Lock()

    @property
    def client(self) -> ClientAPI:
        """The client every collection's store uses, opened on first use (so that making
        a RAG reaches no server)."""
        with self._opening:
            if self._client is None:
                self._client = self._open()
            return self._client

    @abstractmethod
    def _open(self) -> ClientAPI: ...

    @abstractmethod
    def lock_path(self, collection: str) -> Path:
        """The file lock one ingest at a time holds while it writes ``collection``."""

    @abstractmethod
    def lexical_cache(self, collection: str) -> Path:
        """Where the BM25 index of ``collection`` is saved between runs."""

    @abstractmethod
    def describe(self, collection: str) -> str:
        """The index of ``collection`` as a message names it."""


class EmbeddedChroma(Chroma):
    """The index folder RAG_INDEX_DIR, read and written in this process."""

    def __init__(self, chroma: ChromaSettings, index_dir: Path) -> None:
        super().__init__(chroma)
        self.index_dir = index_dir
        self.reopen = self._fresh

    def _open(self) -> ClientAPI:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.index_dir), settings=self._settings)

    def _fresh(self) -> ClientAPI:
        """A new client, which reads what other processes wrote (Chroma shares one client
        per path otherwise); it replaces the current one, so the old one (and the vector
        index it holds in memory) is freed once every store has moved on to a newer one."""
        with self._opening:
            SharedSystemClient.clear_system_cache()  # clients made before keep theirs
            self._client = self._open()
            return self._client

    def lock_path(self, collection: str) -> Path:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        return self.index_dir / ".ingest.lock"

    def lexical_cache(self, collection: str) -> Path:
        return self.index_dir / f"bm25-{collection}.npz"

    def describe(self, collection: str) -> str:
        return str(self.index_dir)


class ServedChroma(Chroma):
    """A Chroma server (``chroma run``), shared with other machines; every client of it
    sees every write, so none is reopened."""

    def __init__(self, chroma: ChromaSettings) -> None:
        super().__init__(chroma)
        self.host = chroma.host or ""
        self.port = chroma.port
        self.ssl = chroma.ssl
        self._token = chroma.token

    def _open(self) -> ClientAPI:
        scheme = "https" if self.ssl else "http"
        address = f"{scheme}://{self.host}:{self.port}"
        token = self._token
        try:
            client = chromadb.HttpClient(
                host=self.host,
                port=self.port,
                ssl=self.ssl,
                headers={"Authorization": f"Bearer {token.get_secret_value()}"} if token else None,
                settings=self._settings,
            )
            client.list_collections(limit=1)  # fails here, with a clear message, if refused
        except Exception as err:  # chromadb raises plain ValueError/httpx errors
            raise ConnectionError(f"cannot use the Chroma server at {address}: {err}") from err
        return client

    def lock_path(self, collection: str) -> Path:
        # A server's collection is locked per machine; other machines rely on upserts.
        name = f"rag-ingest-{self.host}-{self.port}-{collection}.lock"
        return Path(tempfile.gettempdir()) / name

    def lexical_cache(self, collection: str) -> Path:
        return cache_dir() / "bm25" / f"{self.host}-{self.port}-{collection}.npz"

    def describe(self, collection: str) -> str:
        return f"collection {collection} on {self.host}:{self.port}"


def chroma_for(chroma: ChromaSettings, index_dir: Path) -> Chroma:
    """The index the settings name: a server when ``chroma.host`` is set, else the
    embedded folder ``index_dir``. The one place that asks."""
    if chroma.host is None:
        return EmbeddedChroma(chroma, index_dir)
    return ServedChroma(chroma)
