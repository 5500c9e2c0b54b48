"""Questions answered with citations, and the passages retrieval finds."""

from __future__ import annotations

from fastapi import APIRouter

from rag.pipeline import RAG
from rag.serve.api.models import AnswerOut, AnswerRequest, PassageOut, SearchRequest
from rag.serve.api.shared import pick
from rag.serve.gate import Gate


def router(rag: RAG, gate: Gate) -> APIRouter:
    routes = APIRouter()

    @routes.post("/v1/answer")
    def answer(request: AnswerRequest) -> AnswerOut:
        """A question (with the earlier questions of its conversation) -> the cited answer."""
        target = pick(rag, request.collection)
        with gate:
            return AnswerOut.of(target.answer(request.question, request.history))

    @routes.post("/v1/search")
    def search(request: SearchRequest) -> list[PassageOut]:
        """The passages retrieval finds for the query, best first (dense and BM25 ranks
        fused), each with its cosine similarity as ``score``."""
        target = pick(rag, request.collection)
        with gate:
            found = target.retrieve(request.query, request.k)
        return [PassageOut(**p.record()) for p in found]

    return routes
