"""What goes in and out of the HTTP API: the wire models, in one module, so the public
contract (every route's request and response fields, as ``/docs`` shows them) is read
and changed in one place."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, Field, create_model

from rag.reading.answer import Answer
from rag.reading.cite import Citation
from rag.retrieve import Passage


def record_model(
    record: type,
    doc: str,
    *,
    leave_out: set[str],
    described: dict[str, str] | None = None,
    **more: Any,
) -> type[BaseModel]:
    """The wire model of the dataclass ``record`` (named ``<Record>Out``): its fields,
    with their types and defaults, less ``leave_out``, then ``more`` (fields that are not
    the record's, as ``create_model`` takes them). So the API's fields are the domain's,
    stated once, and its JSON is what ``record.record()`` gives."""
    types = get_type_hints(record)
    described = described or {}
    fields: dict[str, Any] = {
        f.name: (
            types[f.name],
            Field(
                ... if f.default is dataclasses.MISSING else f.default,
                description=described.get(f.name),
            ),
        )
        for f in dataclasses.fields(record)
        if f.name not in leave_out
    }
    return create_model(f"{record.__name__}Out", __doc__=doc, **fields, **more)


CitationOut = record_model(
    Citation,
    "One numbered source: ``document_text(source)[start:end] == quote``.",
    leave_out={"passage_id", "score", "unit"},  # the reader's, not the caller's
    described={"version": "Content hash of the document version quoted."},
)


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


PassageOut = record_model(
    Passage,
    "A passage retrieval found, with its cosine similarity to the query as ``score``.",
    leave_out={"sentence_vectors", "layout", "version"},
    # where its start is in the document, from the layout left out
    page=(int | None, None),
    section=(str | None, None),
)


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
