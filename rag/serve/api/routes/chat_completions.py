"""OpenAI's API as rag answers it: the collections as models, and chat completions whose
answers keep their citations as data."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from rag.errors import BadInput
from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.api.models import ChatRequest
from rag.serve.api.shared import pick
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.get("/v1/models")
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

    @routes.post("/v1/chat/completions")
    def chat_completions(request: ChatRequest) -> Any:
        """OpenAI's chat completions: the last user message is the question, the earlier
        ones its conversation. The answer keeps its [n] markers; ``message.citations``
        (and, streamed, the last chunk's ``citations``) holds every exact quote."""
        target = pick(rag, request.model)
        messages = [m.model_dump() for m in request.messages]
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not users:
            raise BadInput("messages hold no user message to answer")
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

    return routes


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
