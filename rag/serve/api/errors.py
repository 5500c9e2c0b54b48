"""Errors as data: every error the API answers is JSON, ``{"error": {"message", "type",
"code"}}`` as OpenAI's API gives it. The status comes from the error's kind, looked up
in :data:`STATUS`, the one place that maps rag's errors (:mod:`rag.errors`) to HTTP;
routes raise those errors and never pick a status themselves."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import AlreadyExists, BadInput, Forbidden, IndexBusy, NotFound, RagError, TooLarge

STATUS: dict[type[RagError], int] = {
    BadInput: 400,
    Forbidden: 403,
    NotFound: 404,
    AlreadyExists: 409,
    TooLarge: 413,
    IndexBusy: 503,
}
"""The HTTP status of each kind of :class:`RagError`; a kind not here (the base) is 500."""


def error_response(status: int, message: str, code: str) -> JSONResponse:
    """The JSON error body, with OpenAI's ``type`` for the status."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=status)


def status_of(err: RagError) -> int:
    """The status of ``err``'s nearest kind in :data:`STATUS` (a subclass of a kind
    answers as that kind)."""
    return next((STATUS[kind] for kind in type(err).__mro__ if kind in STATUS), 500)


def rag_error_response(err: RagError) -> JSONResponse:
    return error_response(status_of(err), str(err), err.code)


async def rag_error(_: Request, err: RagError) -> JSONResponse:
    return rag_error_response(err)


async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
    """Starlette's own errors (an unknown route, a wrong method) in the same body."""
    code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "error")
    return error_response(err.status_code, str(err.detail), code)


async def bad_request(_: Request, err: RequestValidationError) -> JSONResponse:
    """A request whose JSON is malformed or whose fields do not validate: 400, naming
    the first field at fault."""
    first = err.errors()[0] if err.errors() else {}
    if first.get("type") == "json_invalid":
        return error_response(
            400,
            f"malformed JSON: {first.get('ctx', {}).get('error', '')}".rstrip(": "),
            "invalid_json",
        )
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    message = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "")
    return error_response(400, message or "malformed request", "invalid_request")


def add_handlers(api: FastAPI) -> None:
    """Answer every error ``api`` raises as JSON with its status."""
    api.add_exception_handler(RagError, rag_error)
    api.add_exception_handler(StarletteHTTPException, http_error)
    api.add_exception_handler(RequestValidationError, bad_request)
