"""The HTTP API: OpenAI-compatible chat completions and a REST API, whose every answer
keeps its citations as data (source, exact quote, offsets, page, section).

``create_api(rag)`` is a FastAPI app; :mod:`rag.serve.server` serves it with the web chat
mounted beside it on one port. Requests and responses are pydantic models
(:mod:`~rag.serve.api.models`), so the OpenAPI docs at ``/docs`` describe them; every
error is JSON, ``{"error": {"message", "type", "code"}}`` as OpenAI's API gives it, with
the status its kind has (:mod:`~rag.serve.api.errors`). Routes live in one module per
resource (:mod:`~rag.serve.api.routes`).
"""

from rag.serve.api.app import create_api
from rag.serve.api.guard import KEYED, MAX_JSON_BYTES, ApiGuard
from rag.serve.api.models import (
    AnswerOut,
    AnswerRequest,
    ChatRequest,
    CheckRequest,
    CitationOut,
    CollectionOut,
    CollectionRequest,
    DocumentOut,
    Message,
    PassageOut,
    SearchRequest,
)
from rag.serve.api.shared import MODEL_ALIAS

__all__ = [
    "KEYED",
    "MAX_JSON_BYTES",
    "MODEL_ALIAS",
    "AnswerOut",
    "AnswerRequest",
    "ApiGuard",
    "ChatRequest",
    "CheckRequest",
    "CitationOut",
    "CollectionOut",
    "CollectionRequest",
    "DocumentOut",
    "Message",
    "PassageOut",
    "SearchRequest",
    "create_api",
]
