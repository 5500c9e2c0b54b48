"""``create_api``: the routers of each resource, the guard in front of them and the
handlers that answer every error as JSON, put together into one FastAPI app."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from rag.errors import NotFound
from rag.pipeline import RAG
from rag.serve.api.errors import add_handlers
from rag.serve.api.guard import ApiGuard
from rag.serve.api.routes import (
    answer,
    chat_completions,
    check,
    collections,
    conversations,
    documents,
)
from rag.serve.gate import Gate

RESOURCES = (chat_completions, collections, answer, check, documents, conversations)
"""The route modules, each a ``router(rag, gate)``."""


def create_api(rag: RAG, lifespan: Any = None, gate: Gate | None = None) -> FastAPI:
    """The API over ``rag``'s collection, its keys checked when ``RAG_API_KEYS`` is set
    (on :data:`~rag.serve.api.guard.KEYED` paths: ``/v1`` and ``/mcp``); ``lifespan`` as
    FastAPI takes it. Answers are computed inside ``gate`` (default: one of
    ``RAG_ANSWERS_AT_ONCE`` slots, the chat's own when served beside it)."""
    api = FastAPI(
        title="rag",
        summary="Answers from your documents, every claim with an exact, checkable quote.",
        version="0.1.0",
        lifespan=lifespan,
    )
    gate = gate or Gate(rag.settings.answer_slots)
    api.add_middleware(
        ApiGuard, keys=rag.settings.api_key_list(), upload_limit=rag.settings.max_file_bytes
    )
    add_handlers(api)
    for resource in RESOURCES:
        api.include_router(resource.router(rag, gate))

    @api.api_route(
        "/v1/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def nothing_here(rest: str) -> None:
        """Under /v1 an unknown path is the API's 404, not the chat page's (so it goes
        after every router)."""
        raise NotFound(f"no endpoint /v1/{rest}; see /docs", code="not_found")

    return api
