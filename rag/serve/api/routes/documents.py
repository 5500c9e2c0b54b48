"""The documents of a collection: listed, uploaded, read and deleted."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile

from rag.errors import BadInput
from rag.pipeline import RAG
from rag.serve.api.models import DocumentOut
from rag.serve.api.shared import pick, uploads_allowed
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/documents")
    def documents(collection: str | None = None) -> list[DocumentOut]:
        """Every indexed document of the collection with its number of chunks."""
        found = pick(rag, collection).documents()
        return [DocumentOut(source=s, chunks=n) for s, n in found.items()]

    @routes.post("/v1/documents")
    def upload(
        files: Annotated[list[UploadFile], File()], collection: str | None = None
    ) -> dict[str, Any]:
        """Add files to the collection's folder and index them, with ``rag ingest``'s checks."""
        uploads_allowed(rag, "adding documents")
        target = pick(rag, collection)
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for upload in files:
                name = Path(upload.filename or "").name
                if not name:
                    raise BadInput("an uploaded file has no name")
                path = Path(folder) / name
                path.write_bytes(upload.file.read())
                paths.append(path)
            report = target.add_files(paths, progress=False, wait=0)
        return {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
            "chunks_added": report.chunks_added,
        }

    @routes.get("/v1/documents/{source:path}/text")
    def document_text(source: str, collection: str | None = None) -> dict[str, Any]:
        """The text of a document, as its citations' offsets count it."""
        return {"source": source, "text": pick(rag, collection).document_text(source)}

    @routes.delete("/v1/documents/{source:path}")
    def delete_document(source: str, collection: str | None = None) -> dict[str, Any]:
        """Remove a document from the index and its file from the collection's folder."""
        uploads_allowed(rag, "changing documents")
        removed = pick(rag, collection).remove(source, wait=0)
        return {"removed": source, "chunks_removed": removed}

    return routes
