"""The index: chunks and their embeddings in a persistent Chroma collection."""

from __future__ import annotations

import itertools
import json
import math
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from chromadb.api import ClientAPI
from langchain_chroma import Chroma
from langchain_core.documents import Document
from tqdm import tqdm

from rag.documents.formats import Layout
from rag.documents.ingest import Chunk
from rag.documents.sentences import sentence_spans
from rag.index.embed import SentenceEmbeddings, pack_vectors, release_freed_memory
from rag.index.precision import Precision

BATCH = 64
"""Chunks embedded and written per round trip: large enough to batch the model well."""

SENTENCE_VECTORS = "sentence_vectors"
"""Metadata key of a chunk's packed sentence vectors in :func:`sentence_spans` order
("" when they could not be computed)."""

TORCH_FROM: dict[Precision, float] = {"fp32": math.inf, "bf16": 1200}
"""From this many chunks, indexing runs on torch in that precision instead of through the
ONNX export (fp32). Measured on 2 cores (``benchmarks/precision.py``, 1,024 SQuAD chunks):
ONNX 46.9 chunks/s, torch fp32 31.6, torch under bf16 autocast 73.6; torch's import and
model load take 8 to 10 s, which bf16 repays from about 1,100 to 1,250 chunks and fp32
never."""

PRECISIONS = "rag_embedding_precisions"
"""Collection metadata key: the precisions its vectors were made in ("fp32", "bf16,fp32")."""

GENERATION = "rag_generation"
"""Collection metadata key: a new random token after every write that adds or deletes."""

FOLDERS = "rag_folders"
"""Collection metadata key: the folders a named collection indexes, as a JSON list (the
first one takes its uploads); absent for a collection whose folder is RAG_CORPUS_DIR."""

PAGE = 5000
"""Chunks read, relabelled or deleted per request over the whole index, to bound memory."""


def _precisions(metadata: dict) -> set[str]:
    return set(filter(None, str(metadata.get(PRECISIONS, "")).split(",")))


@dataclass
class IndexedSource:
    """What the index holds of one source: its chunk ids and, for files, their path."""

    ids: set[str] = field(default_factory=set)
    path: str = ""
    outdated: set[str] = field(default_factory=set)
    """Chunks written by an older version, without sentence vectors: worth re-embedding."""
    digests: set[str] = field(default_factory=set)
    """Document digests the chunks were split from (one when the source is current)."""
    sizes: set[int] = field(default_factory=set)
    """How many chunks their documents were split into (see ``Chunk.of``)."""


def collection_names(client: ClientAPI) -> list[str]:
    """The collections rag made in ``client`` (written to, or given folders), by name; a
    server's other collections are left out."""
    return sorted(
        c.name
        for c in client.list_collections()
        if {GENERATION, FOLDERS} & set((c.metadata or {}).keys())
    )


class Store:
    """A Chroma collection in cosine space, embedded by our own model only.

    The collection is created with no embedding function of Chroma's (its default
    downloads a model); every vector comes from ``embeddings``.
    """

    def __init__(
        self,
        client: ClientAPI,
        collection: str,
        embeddings: SentenceEmbeddings,
        reopen: Callable[[], ClientAPI] | None = None,
    ) -> None:
        """``reopen`` gives a fresh client of an embedded index: searching reopens the
        collection with it when another process wrote since this one last looked."""
        self.embeddings = embeddings
        self._name = collection
        self._reopen = reopen
        self._reopening = threading.Lock()
        self._documents: tuple[str, dict[str, int]] | None = None
        self._use(client)
        self._seen = self.generation()

    def _use(self, client: ClientAPI) -> None:
        self._client = client
        self.vectors = Chroma(
            client=client,
            collection_name=self._name,
            embedding_function=self.embeddings,
            collection_configuration={"hnsw": {"space": "cosine"}},
        )

    def _catch_up(self) -> None:
        """Reopen an embedded collection another process wrote to since this one last
        looked. Chroma keeps a process's vector index in its memory: without this, a chat
        would not find what ``rag ingest`` added while it ran, and one that opened the
        collection empty could not search it at all (its index is not on disk yet).
        Searches already running finish on the client they started with."""
        if self._reopen is None:
            return
        generation = self.generation()
        with self._reopening:
            if generation != self._seen:
                self._use(self._reopen())
                self._seen = generation

    def count(self) -> int:
        return self.vectors._collection.count()

    def generation(self) -> str:
        """A token that changes whenever chunks are added or deleted, by this or any other
        client of the collection: what an index built from the chunks (BM25) checks."""
        metadata = self._client.get_collection(self._name).metadata or {}
        return str(metadata.get(GENERATION, ""))

    def _changed(self, precision: Precision | None = None) -> None:
        """A new generation token; ``precision`` joins the recorded ones."""
        collection = self.vectors._collection
        metadata = {**(collection.metadata or {}), GENERATION: uuid.uuid4().hex}
        if precision is not None:
            metadata[PRECISIONS] = ",".join(sorted(_precisions(metadata) | {precision}))
        collection.modify(metadata=metadata)
        self._seen = metadata[GENERATION]  # this process's own write: nothing to catch up on

    def texts(self) -> Iterator[tuple[str, str]]:
        """``(id, text)`` of every chunk, read a page at a time."""
        for chunk_id, text, _ in self._read(["documents"]):
            yield chunk_id, text or ""

    def fetch(self, ids: list[str], query: str) -> list[tuple[Document, float]]:
        """The chunks ``ids`` (those still there, in that order) with their cosine
        similarity to ``query``."""
        got = self.vectors._collection.get(
            ids=ids, include=["documents", "metadatas", "embeddings"]
        )
        found = {
            i: (Document(id=i, page_content=text, metadata=meta), vector)
            for i, text, meta, vector in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }
        question = np.asarray(self.embeddings.embed_query(query))
        return [
            (doc, float(np.dot(vector, question)))
            for doc, vector in (found[i] for i in ids if i in found)
        ]

    def sources(self) -> dict[str, IndexedSource]:
        """Every source in the index with the ids of its chunks."""
        found: dict[str, IndexedSource] = defaultdict(IndexedSource)
        for chunk_id, _, meta in self._read(["metadatas"]):
            entry = found[str(meta["source"])]
            entry.ids.add(chunk_id)
            entry.path = str(meta.get("path") or "")
            entry.digests.add(str(meta.get("digest", "")))
            entry.sizes.add(int(meta.get("of", 0)))
            if SENTENCE_VECTORS not in meta:
                entry.outdated.add(chunk_id)
        return dict(found)

    def documents(self) -> dict[str, int]:
        """Every source with its number of chunks, by name.

        It reads the metadata of every chunk (5 s at 10,000 articles), so the result is
        kept until the index changes (its generation token, set by every write).
        """
        generation = self.generation()
        if not generation or self._documents is None or self._documents[0] != generation:
            found = {s: len(e.ids) for s, e in sorted(self.sources().items())}
            self._documents = (generation, found)
        return dict(self._documents[1])

    def chunks(self, source: str | None = None) -> list[Chunk]:
        """Every chunk in the index (or of one source), with its text and offsets."""
        return [
            Chunk(
                i,
                str(m["source"]),
                text,
                int(m["start"]),
                int(m["end"]),
                str(m.get("path", "")),
                layout=Layout.from_json(m.get("layout")),
                version=str(m.get("version", "")),
            )
            for i, text, m in self._read(["documents", "metadatas"], source)
        ]

    def _read(
        self, include: list, source: str | None = None
    ) -> Iterator[tuple[str, str | None, dict]]:
        """``(id, document, metadata)`` of every chunk (or of one source), a page at a time."""
        where = None if source is None else {"source": source}
        for offset in itertools.count(0, PAGE):
            got = self.vectors._collection.get(
                where=where, include=include, limit=PAGE, offset=offset
            )
            n = len(got["ids"])
            documents = got["documents"] or [None] * n
            yield from zip(got["ids"], documents, got["metadatas"] or [{}] * n, strict=True)
            if n < PAGE:
                return

    def folders(self) -> list[Path] | None:
        """The folders recorded for this collection (:data:`FOLDERS`); None when none are."""
        metadata = self._client.get_collection(self._name).metadata or {}
        if FOLDERS not in metadata:
            return None
        return [Path(f) for f in json.loads(str(metadata[FOLDERS]))]

    def record_folders(self, folders: list[Path]) -> None:
        """Record the collection's folders, the first where its uploads go."""
        collection = self.vectors._collection
        listed = json.dumps([str(f) for f in folders])
        collection.modify(metadata={**(collection.metadata or {}), FOLDERS: listed})

    def precisions(self) -> set[str]:
        """The precisions the index's vectors were made in (empty: none recorded)."""
        return _precisions(self._client.get_collection(self._name).metadata or {})

    def encoder_for(self, n: int) -> tuple[bool, Precision]:
        """Whether ``n`` chunks are encoded through torch, and in which precision.

        ``bf16`` asked for is used for any batch (and refused where the probe found it
        unfaithful). ``auto`` resolves the precision (the probe run, torch imported) for
        a batch large enough to repay torch's import in bf16 (:data:`TORCH_FROM`), or for
        any batch once the torch model is loaded anyway; otherwise, and with ``fp32``,
        chunks go through the ONNX export in fp32.
        """
        embeddings = self.embeddings
        setting = embeddings.precision_setting
        if embeddings.onnx is None:
            return True, embeddings.precision
        loaded = "model" in vars(embeddings)  # torch's import and the load already paid
        worth_resolving = setting == "bf16" or loaded or n >= TORCH_FROM["bf16"]
        if setting != "fp32" and worth_resolving and embeddings.precision == "bf16":
            return True, "bf16"
        return n >= TORCH_FROM["fp32"], "fp32"

    def add(self, chunks: list[Chunk], progress: bool | None = None) -> Precision | None:
        """Embed and upsert chunks in batches, with a progress bar on a terminal; the
        precision they were encoded in (None when there were none).

        Each chunk's sentence vectors come from the same forward pass as its own vector
        and are kept in its metadata, so answering needs no model call but the question's.
        """
        disable = None if progress is None else not progress  # None: only on a terminal
        # Batches of similar length pad less: the model's cost follows the longest text.
        chunks = sorted(chunks, key=lambda c: len(c.text))
        if not chunks:
            return None
        use_torch, precision = self.encoder_for(len(chunks))
        self._changed(precision)  # before and after: a reader that rebuilt mid-write rebuilds
        # Writing a batch while the next is encoded measured no faster on 2 cores (1,000
        # articles: 124.6 and 119.4 s against 126.5 and 118.2 s): torch uses both.
        with tqdm(total=len(chunks), unit="chunk", desc="Indexing", disable=disable) as bar:
            for i in range(0, len(chunks), BATCH):
                batch = chunks[i : i + BATCH]
                texts = [c.text for c in batch]
                vectors, sentences = self.embeddings.encode_with_spans(
                    texts, [sentence_spans(t) for t in texts], torch=use_torch
                )
                metadatas = [
                    {**c.metadata, SENTENCE_VECTORS: "" if v is None else pack_vectors(v)}
                    for c, v in zip(batch, sentences, strict=True)
                ]
                self.vectors._collection.upsert(
                    ids=[c.id for c in batch],
                    embeddings=vectors,
                    metadatas=metadatas,
                    documents=texts,
                )
                release_freed_memory()
                bar.update(len(batch))
        self._changed()
        return precision

    def drop(self) -> None:
        """Delete the whole collection: its chunks, vectors and records."""
        self._client.delete_collection(self._name)

    def relabel(self, chunks: list[Chunk]) -> None:
        """Rewrite the metadata of chunks already indexed (their vectors stay)."""
        for i in range(0, len(chunks), PAGE):
            batch = chunks[i : i + PAGE]
            self.vectors._collection.update(
                ids=[c.id for c in batch], metadatas=[c.metadata for c in batch]
            )

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            self._changed()
        for i in range(0, len(ids), PAGE):
            self.vectors.delete(ids=ids[i : i + PAGE])
        if ids:
            self._changed()

    def search(self, query: str, k: int) -> list[tuple[Document, float]]:
        """The ``k`` nearest chunks with their cosine similarity (higher is closer)."""
        if self.count() == 0:
            return []
        self._catch_up()
        hits = self.vectors.similarity_search_with_score(query, k=k)
        # Chroma returns a cosine *distance*; similarity = 1 - distance.
        return [(doc, 1.0 - distance) for doc, distance in hits]
