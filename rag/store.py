"""The index: chunks and their embeddings in a persistent Chroma collection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from rag.config import Settings
from rag.ingest import Chunk

BATCH = 64
"""Chunks embedded and written per round trip: large enough to batch the model well."""


@dataclass
class IndexedSource:
    """What the index holds of one source: its chunk ids and, for files, their path."""

    ids: set[str] = field(default_factory=set)
    path: str = ""


def open_client(settings: Settings) -> ClientAPI:
    """A Chroma server client when ``chroma_host`` is set, else the embedded index_dir."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host is None:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)
    address = f"{settings.chroma_host}:{settings.chroma_port}"
    try:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    except Exception as err:  # chromadb raises plain ValueError/httpx errors when unreachable
        raise ConnectionError(f"cannot reach the Chroma server at {address}: {err}") from err


class Store:
    """A Chroma collection in cosine space, embedded by our own model only.

    The collection is created with no embedding function of Chroma's (its default
    downloads a model); every vector comes from ``embeddings``.
    """

    def __init__(self, client: ClientAPI, collection: str, embeddings: Embeddings) -> None:
        self.vectors = Chroma(
            client=client,
            collection_name=collection,
            embedding_function=embeddings,
            collection_configuration={"hnsw": {"space": "cosine"}},
        )

    def count(self) -> int:
        return self.vectors._collection.count()

    def sources(self) -> dict[str, IndexedSource]:
        """Every source in the index with the ids of its chunks."""
        found: dict[str, IndexedSource] = defaultdict(IndexedSource)
        got = self.vectors.get(include=["metadatas"])
        for chunk_id, meta in zip(got["ids"], got["metadatas"], strict=True):
            entry = found[str(meta["source"])]
            entry.ids.add(chunk_id)
            entry.path = str(meta.get("path") or "")
        return dict(found)

    def chunks(self) -> list[Chunk]:
        """Every chunk in the index, with its text and offsets."""
        got = self.vectors.get(include=["documents", "metadatas"])
        return [
            Chunk(i, str(m["source"]), text, int(m["start"]), int(m["end"]), str(m.get("path", "")))
            for i, text, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def add(self, chunks: list[Chunk], progress: bool | None = None) -> None:
        """Embed and upsert chunks in batches, with a progress bar on a terminal."""
        disable = None if progress is None else not progress  # None: only on a terminal
        with tqdm(total=len(chunks), unit="chunk", desc="Indexing", disable=disable) as bar:
            for i in range(0, len(chunks), BATCH):
                batch = chunks[i : i + BATCH]
                self.vectors.add_texts(
                    [c.text for c in batch],
                    metadatas=[c.metadata for c in batch],
                    ids=[c.id for c in batch],
                )
                bar.update(len(batch))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 5000):
            self.vectors.delete(ids=ids[i : i + 5000])

    def search(self, query: str, k: int) -> list[tuple[Document, float]]:
        """The ``k`` nearest chunks with their cosine similarity (higher is closer)."""
        if self.count() == 0:
            return []
        hits = self.vectors.similarity_search_with_score(query, k=k)
        # Chroma returns a cosine *distance*; similarity = 1 - distance.
        return [(doc, 1.0 - distance) for doc, distance in hits]
