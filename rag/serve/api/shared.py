"""What several routes need: the collection a request names, and whether uploads are on."""

from __future__ import annotations

from rag.errors import Forbidden, NotFound
from rag.pipeline import RAG

MODEL_ALIAS = "rag"
"""Besides the collection's name, the model name every client may use."""


def pick(rag: RAG, name: str | None) -> RAG:
    """The collection a request names (None, or ``rag``: the default one)."""
    if name in (None, rag.settings.collection, MODEL_ALIAS):
        return rag
    if name not in rag.collection_names():
        message = f"no collection {name!r}; GET /v1/collections lists them"
        raise NotFound(message, code="model_not_found")
    return rag.collection(name)


def uploads_allowed(rag: RAG, doing: str) -> None:
    """Refuse a change to the documents or collections when the server turned them off."""
    if not rag.settings.uploads:
        raise Forbidden(f"{doing} is turned off here (RAG_UPLOADS=false)", code="uploads_off")
