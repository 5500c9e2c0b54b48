"""Follow-up questions: the conversation so far turns "and what did Europe think of it?"
into a question that retrieval can answer on its own.

Without a language model the rewrite is a transparent one: the follow-up, then the
earlier questions it follows (``"what did Europe think of it? (following: What does the
plan ask of Ukraine?)"``). Passages are retrieved with that text, so they are about the
conversation's subject; sentences are chosen for the follow-up itself, the earlier
questions weighing in only a little, so the answer says something new rather than
repeating the previous one.

    >>> earlier = ["What does the plan ask of Ukraine?"]
    >>> question = "and what did Europe think of it?"
    >>> standalone(question, follows(question, earlier))
    'what did Europe think of it? (following: What does the plan ask of Ukraine?)'
    >>> follows("Who drafted the plan?", earlier)
    []
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from rag.reading.answer import Answer

Turn: TypeAlias = str | Answer | Mapping[str, Any]
"""One entry of a history: an earlier question, an earlier :class:`Answer`, or a chat
message ``{"role": "user" | "assistant", "content": ...}`` (OpenAI's and Gradio's shape)."""

CONTEXT_QUESTIONS = 2
"""Earlier questions a rewrite carries at most: a chain of follow-ups keeps its thread."""

_CONNECTIVE = re.compile(r"^(?:and|but|so|also|then|ok(?:ay)?|well)\b[\s,]*", re.IGNORECASE)
_OPENERS = re.compile(r"^(?:what|how) about\b|^(?:and|but|so|also)\b", re.IGNORECASE)
_REFERS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|theirs|he|him|his|she|her|hers)\b"
    # "this" alone ("why is this?"), not as in "this week"
    r"|\b(?:this|these|those)\b(?!\s+[a-z])",
    re.IGNORECASE,
)
SHORT_WORDS = 3
"""A question this short ("why?", "and Europe?") leans on what was asked before."""


def is_follow_up(question: str) -> bool:
    """Whether ``question`` reads as depending on an earlier one: it opens with "and",
    "but", "what about" ..., refers back with a pronoun ("it", "they", "this" ...), or is
    only a few words long."""
    return bool(
        _OPENERS.search(question)
        or _REFERS_BACK.search(question)
        or len(question.split()) <= SHORT_WORDS
    )


def focus(question: str) -> str:
    """The follow-up without its opening connective: what to choose sentences for."""
    return _CONNECTIVE.sub("", question, count=1) or question


def follows(question: str, earlier: Sequence[str]) -> list[str]:
    """The earlier questions (given oldest first) that ``question`` follows up, most
    recent first; empty when it stands alone or nothing was asked before.

    That is the previous question and, while those were follow-ups too, the ones before
    it (at most :data:`CONTEXT_QUESTIONS`), so "why?" after "and what did Europe think
    of it?" still knows what "it" is.
    """
    if not is_follow_up(question):
        return []
    thread: list[str] = []
    for previous in reversed(earlier):
        thread.append(previous)
        if len(thread) == CONTEXT_QUESTIONS or not is_follow_up(previous):
            break
    return thread


def standalone(question: str, thread: Sequence[str]) -> str:
    """The follow-up ``question`` rewritten to stand alone: its :func:`focus`, then the
    questions it follows (from :func:`follows`); ``question`` itself when there are none."""
    if not thread:
        return question
    return f"{focus(question)} (following: {'; '.join(thread)})"


@dataclass(frozen=True)
class Asked:
    """A question as the pipeline asks it: ``search`` retrieves the passages, ``focus``
    chooses the sentences, ``context`` (for a follow-up) holds the earlier questions."""

    question: str
    search: str
    focus: str
    context: str = ""

    @classmethod
    def of(cls, question: str, earlier: Sequence[str]) -> Asked:
        thread = follows(question, earlier)
        if not thread:
            return cls(question, question, question)
        return cls(question, standalone(question, thread), focus(question), "; ".join(thread))

    @property
    def extra(self) -> dict[str, str]:
        """Keyword arguments for the answerer: ``context`` for a follow-up only, so an
        answerer written for single questions keeps working for them."""
        return {"context": self.context} if self.context else {}

    def finish(self, answer: Answer) -> Answer:
        """The answerer's Answer, for the question as the user asked it."""
        if not self.context:
            return answer
        return replace(answer, question=self.question, rewritten=self.search)


def earlier_questions(history: Iterable[Turn] | None) -> list[str]:
    """The user's questions in ``history``, oldest first; answers and other roles skipped.

    Raises TypeError for an entry that is none of the shapes of :data:`Turn`.
    """
    questions = []
    for turn in history or ():
        if isinstance(turn, str):
            questions.append(turn)
        elif isinstance(turn, Answer):
            questions.append(turn.question)
        elif isinstance(turn, Mapping):
            if turn.get("role") == "user":
                questions.append(message_text(turn.get("content")))
        else:
            raise TypeError(
                "history entries are questions (str), Answers or chat messages "
                f"({{'role': ..., 'content': ...}}), not {type(turn).__name__}"
            )
    return [q for q in questions if q.strip()]


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or Gradio 6's list of blocks
    (``[{"type": "text", "text": ...}]``, files and other blocks skipped)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return " ".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, Mapping) and block.get("type", "text") == "text"
        )
    return ""
