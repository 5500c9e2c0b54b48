"""What every answerer returns, and the question as every answerer reads it.

:class:`Answer` is public (``from rag import Answer``); :class:`Answerer` is the one small
interface behind which the extractive reader (:mod:`rag.reading.extractive`) and a
generative model (:mod:`rag.reading.generate`) take each other's place without touching
retrieval or citations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from rag.reading.cite import Citation, format_sources
from rag.retrieve import Passage

ABSTAIN_TEXT = "The sources don't say: nothing in the indexed documents answers this question."
EMPTY_QUESTION_TEXT = "Please ask a question about the documents."
TOO_LONG_TEXT = (
    "The question is too long ({length:,} characters; the limit is {limit:,}, set by "
    "RAG_MAX_QUESTION_CHARS). Please ask a shorter question."
)


_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+")
"""Control characters and invisible formatting marks (zero-width, bidi overrides)."""

_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
"""A terminal's control sequence ("\x1b[31m": red), as text pasted from one carries:
removed whole, or its "[31m" would be read as words (the reading model then judged
"What would Ukraine [31m receive in return?" unanswerable)."""


def clean_question(question: str) -> str:
    """The question as plain text: lone surrogates and terminal control sequences
    dropped, control characters and invisible marks turned into spaces, whitespace
    collapsed."""
    text = question.encode("utf-8", "ignore").decode("utf-8")
    return " ".join(_INVISIBLE.sub(" ", _TERMINAL_ESCAPE.sub("", text)).split())


_PART_BREAK = re.compile(
    r"(?:,|;)?\s+(?:and|but)\s+(?=(?:what|how|why|where|who|whom|whose|when|which|does|do|did"
    r"|is|are|was|were|can|could|will|would|should|has|have|had)\b)",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The questions a compound question asks, or [] for a single one.

    >>> question_parts("What does the outline ask of Kyiv, and how have diplomats reacted?")
    ['What does the outline ask of Kyiv', 'how have diplomats reacted?']
    >>> question_parts("What legal and security problems does the plan raise?")
    []
    """
    parts = [p.strip() for p in _PART_BREAK.split(question) if p.strip()]
    return parts if len(parts) > 1 else []


def refusal(question: str, max_chars: int) -> str | None:
    """Why a (cleaned) question is not asked at all, or None when it can be."""
    if not question:
        return EMPTY_QUESTION_TEXT
    if len(question) > max_chars:
        return TOO_LONG_TEXT.format(length=len(question), limit=max_chars)
    return None


@dataclass
class Answer:
    """An answer whose every sentence ends with ``[n]`` markers into ``citations``.

    When ``abstained`` is true the sources do not hold the answer, ``text`` says so and
    there are no citations. ``score`` is the evidence score the abstention decision was
    made on: for the extractive answerer, the abstention model's confidence (0 to 1) that
    the evidence answers, or with ``RAG_ABSTENTION=cosine`` the best sentence's cosine
    similarity.
    """

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    passages: list[Passage] = field(default_factory=list)
    score: float | None = None
    rewritten: str | None = None
    """The question as rewritten from the conversation to retrieve with (a follow-up
    such as "and what did Europe think of it?"); None when it was asked on its own."""
    note: str | None = None
    """Said beside the answer: e.g. that the language model was down, so the sources
    are quoted directly."""
    collection: str = ""
    """The collection it was answered from (``RAG_COLLECTION`` or ``RAG(collection=...)``);
    its citations' sources are names in that collection."""

    def saved(self) -> dict[str, Any]:
        """The answer as plain data to keep (a saved conversation), with the passages
        it cites (shown around the quotes) and no others: :meth:`from_saved` restores it."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["citations"] = [c.saved() for c in self.citations]
        cited = {c.passage_id for c in self.citations}
        data["passages"] = [p.saved() for p in self.passages if p.id in cited]
        return data

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> Answer:
        """The answer :meth:`saved` gave (fields added since left at their defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["citations"] = [Citation.from_saved(c) for c in data.get("citations", [])]
        values["passages"] = [Passage.from_saved(p) for p in data.get("passages", [])]
        return cls(**values)

    @classmethod
    def sources_dont_say(
        cls, question: str, passages: list[Passage], score: float | None = None
    ) -> Answer:
        """The abstaining answer: :data:`ABSTAIN_TEXT`, no citations."""
        return cls(question, ABSTAIN_TEXT, abstained=True, passages=passages, score=score)

    def __str__(self) -> str:
        if not self.citations:
            return self.text
        return f"{self.text}\n\nSources:\n{format_sources(self.citations)}"


class Answerer(Protocol):
    """Turns a question and its retrieved passages into a cited :class:`Answer`.

    ``context`` is given for a follow-up only: the earlier questions it continues
    ("What does the plan ask of Ukraine?" for "what did Europe think of it?").
    """

    def __call__(self, question: str, passages: list[Passage], context: str = "") -> Answer: ...
