"""What goes in and out of the HTTP API: the wire models, in one module, so the public
contract (every route's request and response fields, as ``/docs`` shows them) is read
and changed in one place."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from rag.reading.answer import Answer


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
