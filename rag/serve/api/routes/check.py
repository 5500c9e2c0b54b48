"""A text checked against the documents, sentence by sentence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rag.pipeline import RAG
from rag.serve.api.models import CheckRequest
from rag.serve.api.shared import pick
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.post("/v1/check")
    def check(request: CheckRequest) -> dict[str, Any]:
        """A text checked against the documents, sentence by sentence."""
        target = pick(rag, request.collection)
        with gate:
            result = target.check(request.text)
        return {"sentences": [s.record() for s in result.sentences]}

    return routes
