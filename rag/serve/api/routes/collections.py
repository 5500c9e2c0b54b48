"""Collections: listed, made empty (uploads fill them) and deleted."""

from __future__ import annotations

from fastapi import APIRouter

from rag.pipeline import RAG
from rag.serve.api.models import CollectionOut, CollectionRequest
from rag.serve.api.shared import uploads_allowed
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/collections")
    def collections() -> list[CollectionOut]:
        """Every collection, the default first."""
        return [CollectionOut(**c.record()) for c in rag.collections()]

    @routes.post("/v1/collections", status_code=201)
    def create_collection(request: CollectionRequest) -> CollectionOut:
        """Make an empty collection (POST /v1/documents?collection=NAME fills it)."""
        uploads_allowed(rag, "making collections")
        made = rag.create_collection(request.name)
        return CollectionOut(
            name=made.settings.collection,
            folders=[str(f) for f in made.folders],
            chunks=0,
            default=False,
        )

    @routes.delete("/v1/collections/{name}")
    def delete_collection(name: str) -> dict[str, str]:
        """Delete a collection's index (vectors, BM25, version records); files stay."""
        uploads_allowed(rag, "deleting collections")
        rag.delete_collection(name, wait=0)
        return {"deleted": name}

    return routes
