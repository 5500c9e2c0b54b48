"""The chat's saved conversations, read back with every answer and citation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rag.history import ANONYMOUS
from rag.pipeline import RAG
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/conversations")
    def conversations() -> list[dict[str, str]]:
        """The chat's saved conversations (of its user without a login), the latest first."""
        return [c.record() for c in rag.history.conversations(ANONYMOUS)]

    @routes.get("/v1/conversations/{conversation}")
    def conversation(conversation: str) -> dict[str, Any]:
        """A saved conversation with every answer and citation as it was given."""
        return rag.history.export(conversation, ANONYMOUS)

    return routes
