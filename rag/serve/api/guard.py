"""API keys and body limits, checked before a request reaches the app."""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.errors import TooLarge
from rag.serve.api.errors import error_response, rag_error_response

MAX_JSON_BYTES = 1 * 2**20
"""A JSON request larger than this is refused with 413 (a question is a few hundred bytes)."""
KEYED = ("/v1/", "/mcp")
"""Paths that need an API key when RAG_API_KEYS is set (the chat has its own login)."""


class ApiGuard:
    """API keys (on :data:`KEYED` paths) and body limits (on ``/v1``), as plain ASGI
    middleware: every other request, the chat's and its event streams, goes straight to
    the app (Starlette's ``@app.middleware("http")`` would pass each of them and each
    streamed chunk through tasks and queues of its own)."""

    def __init__(self, app: ASGIApp, keys: list[str], upload_limit: int) -> None:
        self.app, self.keys, self.upload_limit = app, keys, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(KEYED):
            refused = self.refusal(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, request: Request) -> JSONResponse | None:
        """The error response for a request without a valid key or with a body over its
        limit (by its ``Content-Length``), or None to let it through."""
        if self.keys and not self.authorised(request.headers.get("authorization", "")):
            return error_response(
                401, "a valid API key is needed: Authorization: Bearer <key>", "invalid_api_key"
            )
        path = request.url.path
        if path.startswith("/v1/"):
            upload = request.method == "POST" and path == "/v1/documents"
            limit = self.upload_limit if upload else MAX_JSON_BYTES
            size = request.headers.get("content-length")
            if size is not None and size.isdigit() and int(size) > limit:
                too_large = TooLarge(f"request body over {limit:,} bytes", code="request_too_large")
                return rag_error_response(too_large)
        return None

    def authorised(self, given: str) -> bool:
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and any(
            secrets.compare_digest(token.strip().encode(), k.encode()) for k in self.keys
        )
