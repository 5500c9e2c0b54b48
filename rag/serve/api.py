"""The HTTP API: OpenAI-compatible chat completions and a REST API, whose every answer
keeps its citations as data (source, exact quote, offsets, page, section).

``create_api(rag)`` is a FastAPI app; :mod:`rag.serve.server` serves it with the web chat
mounted beside it on one port. Requests and responses are pydantic models, so the
OpenAPI docs at ``/docs`` describe them; every error is JSON, ``{"error": {"message",
"type", "code"}}`` as OpenAI's API gives it, with the status that says what went wrong.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.history import ANONYMOUS
from rag.pipeline import RAG, IndexBusy
from rag.reading.answer import Answer
from rag.serve.gate import Gate

MAX_JSON_BYTES = 1 * 2**20
"""A JSON request larger than this is refused with 413 (a question is a few hundred bytes)."""
KEYED = ("/v1/", "/mcp")
"""Paths that need an API key when RAG_API_KEYS is set (the chat has its own login)."""
MODEL_ALIAS = "rag"
"""Besides the collection's name, the model name every client may use."""


# --- what goes in and out ---


class CitationOut(BaseModel):
    """One numbered source: ``document_text(source)[start:end] == quote``."""

    number: int
    source: str
    quote: str
    start: int
    end: int
    page: int | None = None
    section: str | None = None
    version: str = Field("", description="Content hash of the document version quoted.")


class AnswerOut(BaseModel):
    question: str
    text: str = Field(description="The answer; each sentence ends with [n] markers.")
    citations: list[CitationOut]
    abstained: bool = Field(description="True when the documents do not hold the answer.")
    score: float | None = None
    rewritten: str | None = Field(None, description="A follow-up as searched for.")
    note: str | None = None

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        return cls(
            question=answer.question,
            text=answer.text,
            citations=[CitationOut(**c.record()) for c in answer.citations],
            abstained=answer.abstained,
            score=answer.score,
            rewritten=answer.rewritten,
            note=answer.note,
        )


class AnswerRequest(BaseModel):
    question: str
    history: list[str] = Field(default_factory=list, description="Earlier questions, oldest first.")
    collection: str | None = None


class SearchRequest(BaseModel):
    query: str
    k: int = Field(5, ge=1, le=100)
    collection: str | None = None


class PassageOut(BaseModel):
    id: str
    source: str
    text: str
    start: int
    end: int
    score: float
    page: int | None = None
    section: str | None = None


class CheckRequest(BaseModel):
    text: str
    collection: str | None = None


class Message(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat completion request; fields rag has no use for are accepted."""

    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False

    model_config = {"extra": "allow"}


class DocumentOut(BaseModel):
    source: str
    chunks: int


class CollectionOut(BaseModel):
    name: str
    folders: list[str] = Field(description="The folders it indexes; uploads go to the first.")
    chunks: int
    default: bool = Field(description="The collection used when a request names none.")


class CollectionRequest(BaseModel):
    """A new collection, with a folder of its own on the server (which uploads fill):
    pointing one at other folders of the server is for its owner, with ``rag collections
    create --folder``, never for a remote caller."""

    name: str

    model_config = {"extra": "forbid"}


# --- errors as data ---


class ApiError(HTTPException):
    """An error answered as ``{"error": {"message", "type", "code"}}``."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(status, message)
        self.code = code


def _error(status: int, message: str, code: str) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=status)


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
            return _error(
                401, "a valid API key is needed: Authorization: Bearer <key>", "invalid_api_key"
            )
        path = request.url.path
        if path.startswith("/v1/"):
            upload = request.method == "POST" and path == "/v1/documents"
            limit = self.upload_limit if upload else MAX_JSON_BYTES
            size = request.headers.get("content-length")
            if size is not None and size.isdigit() and int(size) > limit:
                return _error(413, f"request body over {limit:,} bytes", "request_too_large")
        return None

    def authorised(self, given: str) -> bool:
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and any(
            secrets.compare_digest(token.strip().encode(), k.encode()) for k in self.keys
        )


def create_api(rag: RAG, lifespan: Any = None, gate: Gate | None = None) -> FastAPI:
    """The API over ``rag``'s collection, its keys checked when ``RAG_API_KEYS`` is set
    (on :data:`KEYED` paths: ``/v1`` and ``/mcp``); ``lifespan`` as FastAPI takes it.
    Answers are computed inside ``gate`` (default: one of ``RAG_ANSWERS_AT_ONCE`` slots,
    the chat's own when served beside it)."""
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

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        code = getattr(err, "code", None) or {404: "not_found", 405: "method_not_allowed"}.get(
            err.status_code, "error"
        )
        return _error(err.status_code, str(err.detail), code)

    @api.exception_handler(RequestValidationError)
    async def bad_request(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        if first.get("type") == "json_invalid":
            return _error(
                400,
                f"malformed JSON: {first.get('ctx', {}).get('error', '')}".rstrip(": "),
                "invalid_json",
            )
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "")
        return _error(400, message or "malformed request", "invalid_request")

    @api.exception_handler(IndexBusy)
    async def busy(_: Request, err: IndexBusy) -> JSONResponse:
        return _error(503, str(err), "index_busy")

    def pick(name: str | None) -> RAG:
        """The collection a request names (None, or ``rag``: the default one)."""
        if name in (None, rag.settings.collection, MODEL_ALIAS):
            return rag
        if name not in rag.collection_names():
            raise ApiError(
                404, f"no collection {name!r}; GET /v1/collections lists them", "model_not_found"
            )
        return rag.collection(name)

    def uploads_allowed(doing: str) -> None:
        if not rag.settings.uploads:
            raise ApiError(403, f"{doing} is turned off here (RAG_UPLOADS=false)", "uploads_off")

    @api.get("/v1/models")
    def models() -> dict[str, Any]:
        """The collections, as models: ``model`` in a chat completion names one (``rag``
        is the default one)."""
        return {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "owned_by": "rag"}
                for name in rag.collection_names()
            ],
        }

    @api.get("/v1/collections")
    def collections() -> list[CollectionOut]:
        """Every collection, the default first."""
        return [CollectionOut(**c.record()) for c in rag.collections()]

    @api.post("/v1/collections", status_code=201)
    def create_collection(request: CollectionRequest) -> CollectionOut:
        """Make an empty collection (POST /v1/documents?collection=NAME fills it)."""
        uploads_allowed("making collections")
        try:
            made = rag.create_collection(request.name)
        except ValueError as err:
            status = 409 if "exists" in str(err) else 400
            raise ApiError(status, str(err), "invalid_collection") from None
        return CollectionOut(
            name=made.settings.collection,
            folders=[str(f) for f in made.folders],
            chunks=0,
            default=False,
        )

    @api.delete("/v1/collections/{name}")
    def delete_collection(name: str) -> dict[str, str]:
        """Delete a collection's index (vectors, BM25, version records); files stay."""
        uploads_allowed("deleting collections")
        try:
            rag.delete_collection(name, wait=0)
        except KeyError:
            raise ApiError(404, f"no collection {name!r}", "collection_not_found") from None
        except ValueError as err:
            raise ApiError(400, str(err), "invalid_collection") from None
        return {"deleted": name}

    @api.post("/v1/chat/completions")
    def chat_completions(request: ChatRequest) -> Any:
        """OpenAI's chat completions: the last user message is the question, the earlier
        ones its conversation. The answer keeps its [n] markers; ``message.citations``
        (and, streamed, the last chunk's ``citations``) holds every exact quote."""
        target = pick(request.model)
        messages = [m.model_dump() for m in request.messages]
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not users:
            raise ApiError(400, "messages hold no user message to answer", "invalid_request")
        question = _text(messages[users[-1]]["content"])
        history = messages[: users[-1]]
        reply = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": request.model,
        }
        if not request.stream:
            with gate:
                answer = target.answer(question, history=history)
            return {
                **reply,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text, **_extras(answer)},
                        "finish_reason": "stop",
                    }
                ],
            }
        return StreamingResponse(
            _events(target, question, history, reply, gate), media_type="text/event-stream"
        )

    @api.post("/v1/answer")
    def answer(request: AnswerRequest) -> AnswerOut:
        """A question (with the earlier questions of its conversation) -> the cited answer."""
        target = pick(request.collection)
        with gate:
            return AnswerOut.of(target.answer(request.question, request.history))

    @api.post("/v1/search")
    def search(request: SearchRequest) -> list[PassageOut]:
        """The passages retrieval finds for the query, best first (dense and BM25 ranks
        fused), each with its cosine similarity as ``score``."""
        target = pick(request.collection)
        with gate:
            found = target.retrieve(request.query, request.k)
        return [PassageOut(**p.record()) for p in found]

    @api.post("/v1/check")
    def check(request: CheckRequest) -> dict[str, Any]:
        """A text checked against the documents, sentence by sentence."""
        target = pick(request.collection)
        try:
            with gate:
                result = target.check(request.text)
        except ValueError as err:
            raise ApiError(413, str(err), "text_too_long") from None
        return {"sentences": [s.record() for s in result.sentences]}

    @api.get("/v1/documents")
    def documents(collection: str | None = None) -> list[DocumentOut]:
        """Every indexed document of the collection with its number of chunks."""
        found = pick(collection).documents()
        return [DocumentOut(source=s, chunks=n) for s, n in found.items()]

    @api.post("/v1/documents")
    def upload(
        files: Annotated[list[UploadFile], File()], collection: str | None = None
    ) -> dict[str, Any]:
        """Add files to the collection's folder and index them, with ``rag ingest``'s checks."""
        uploads_allowed("adding documents")
        target = pick(collection)
        with tempfile.TemporaryDirectory() as folder:
            paths = []
            for upload in files:
                name = Path(upload.filename or "").name
                if not name:
                    raise ApiError(400, "an uploaded file has no name", "invalid_request")
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

    @api.get("/v1/documents/{source:path}/text")
    def document_text(source: str, collection: str | None = None) -> dict[str, Any]:
        """The text of a document, as its citations' offsets count it."""
        try:
            return {"source": source, "text": pick(collection).document_text(source)}
        except KeyError:
            raise ApiError(404, f"{source!r} is not indexed", "document_not_found") from None

    @api.delete("/v1/documents/{source:path}")
    def delete_document(source: str, collection: str | None = None) -> dict[str, Any]:
        """Remove a document from the index and its file from the collection's folder."""
        uploads_allowed("changing documents")
        try:
            removed = pick(collection).remove(source, wait=0)
        except KeyError:
            raise ApiError(404, f"{source!r} is not indexed", "document_not_found") from None
        return {"removed": source, "chunks_removed": removed}

    @api.get("/v1/conversations")
    def conversations() -> list[dict[str, str]]:
        """The chat's saved conversations (of its user without a login), the latest first."""
        return [c.record() for c in rag.history.conversations(ANONYMOUS)]

    @api.get("/v1/conversations/{conversation}")
    def conversation(conversation: str) -> dict[str, Any]:
        """A saved conversation with every answer and citation as it was given."""
        try:
            return rag.history.export(conversation, ANONYMOUS)
        except KeyError:
            raise ApiError(
                404, f"no saved conversation {conversation!r}", "conversation_not_found"
            ) from None

    @api.api_route(
        "/v1/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def nothing_here(rest: str) -> None:
        """Under /v1 an unknown path is the API's 404, not the chat page's."""
        raise ApiError(404, f"no endpoint /v1/{rest}; see /docs", "not_found")

    return api


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """A message's text: a string, or OpenAI's list of parts (the text parts joined)."""
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _extras(answer: Answer) -> dict[str, Any]:
    """What rag adds to OpenAI's assistant message."""
    return {
        "citations": [c.record() for c in answer.citations],
        "abstained": answer.abstained,
        "rewritten": answer.rewritten,
    }


def _events(
    rag: RAG, question: str, history: list, reply: dict[str, Any], gate: Gate
) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: the text as it grows, then a last chunk
    with ``finish_reason`` and the citations, then ``[DONE]``; each step of the answer
    is computed inside ``gate``."""

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        chunk = {
            **reply,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    sent = ""
    last: Answer | None = None
    try:
        for last in gate.through(rag.stream(question, history=history)):
            text = last.text
            if text.startswith(sent) and len(text) > len(sent):
                yield event({"content": text[len(sent) :]})
                sent = text
    except Exception as err:  # the stream has begun: the error goes in it, as data
        failed = f"answering failed ({type(err).__name__})"
        body = {"error": {"message": failed, "type": "server_error", "code": "answer_failed"}}
        yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"
        return
    extras = _extras(last) if last is not None else {"citations": [], "abstained": True}
    text = {"text": last.text} if last is not None else {}
    yield event({**extras}, "stop", **extras, **text)
    yield "data: [DONE]\n\n"
