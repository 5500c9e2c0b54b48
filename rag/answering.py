"""The one path a question takes: ask (clean, refuse, rewrite a follow-up) -> retrieve ->
read -> compose, as plain calls.

:func:`answer_question` is what ``RAG.answer`` runs; :func:`stream_answer` takes the same
steps and yields the reader's partial answers; :func:`answer_chain` wraps
:func:`answer_question` as a LangChain Runnable for those who compose chains. Nothing
here knows a collection's class: :class:`Answering` is what it needs of one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from rag.config import Settings
from rag.reading.answer import Answer, Answerer, clean_question, refusal
from rag.reading.conversation import Asked, Turn, earlier_questions
from rag.retrieve import Passage


class Answering(Protocol):
    """What answering needs of a collection: its settings (name, limits), its reader and
    its retrieval."""

    @property
    def settings(self) -> Settings: ...

    @property
    def answerer(self) -> Answerer: ...

    def retrieve(
        self, question: str, k: int | None = None, *, config: RunnableConfig | None = None
    ) -> list[Passage]: ...


@dataclass(frozen=True)
class Retrieved:
    """A question as asked, with the passages found for it: what the reader reads."""

    asked: Asked
    passages: list[Passage]


def ask(question: str, history: Iterable[Turn] | None, max_chars: int) -> Asked | Answer:
    """The question cleaned (control characters and invisible marks removed) and, for a
    follow-up, rewritten with the earlier questions; or the abstaining Answer that says
    why it is refused (empty, too long)."""
    cleaned = clean_question(question)
    why_not = refusal(cleaned, max_chars)
    if why_not is not None:
        return Answer(cleaned, why_not, abstained=True)
    earlier = [clean_question(q) for q in earlier_questions(history)]
    return Asked.of(cleaned, earlier)


def retrieve_for(
    collection: Answering,
    question: str,
    history: Iterable[Turn] | None,
    config: RunnableConfig | None = None,
) -> Retrieved | Answer:
    """Ask, then retrieve for the question as searched; a refused question is answered
    here, with no retrieval."""
    asked = ask(question, history, collection.settings.max_question_chars)
    if isinstance(asked, Answer):
        return asked
    return Retrieved(asked, collection.retrieve(asked.search, config=config))


def compose(collection: Answering, answer: Answer, asked: Asked | None = None) -> Answer:
    """The reader's ``answer`` for the question as the user asked it, naming the
    collection it was answered from."""
    if asked is not None:
        answer = asked.finish(answer)
    return replace(answer, collection=collection.settings.collection)


def answer_question(
    collection: Answering,
    question: str,
    history: Iterable[Turn] | None = None,
    *,
    config: RunnableConfig | None = None,
) -> Answer:
    """Answer ``question`` from ``collection``: retrieve, read, compose (see
    ``RAG.answer``). ``config`` carries a LangChain run's callbacks to the retrieval."""
    found = retrieve_for(collection, question, history, config)
    if isinstance(found, Answer):
        return compose(collection, found)
    asked = found.asked
    read = collection.answerer(asked.focus, found.passages, **asked.extra)
    return compose(collection, read, asked)


def stream_answer(
    collection: Answering, question: str, history: Iterable[Turn] | None = None
) -> Iterator[Answer]:
    """:func:`answer_question`'s steps, yielding the answer as the reader writes it: a
    reader with a ``stream`` method (same arguments, yielding Answers) is streamed; one
    without gives its Answer whole."""
    streaming = getattr(collection.answerer, "stream", None)
    if streaming is None:
        yield answer_question(collection, question, history)
        return
    found = retrieve_for(collection, question, history)
    if isinstance(found, Answer):
        yield compose(collection, found)
        return
    asked = found.asked
    for partial in streaming(asked.focus, found.passages, **asked.extra):
        yield compose(collection, partial, asked)


def answer_chain(collection: Answering) -> Runnable[str | dict[str, Any], Answer]:
    """:func:`answer_question` as a LangChain Runnable. The input is a question, or
    ``{"question": ..., "history": [...]}`` for a follow-up; retrieval runs as a child
    of this run, so callbacks see both."""

    def run(inputs: str | dict[str, Any], config: RunnableConfig) -> Answer:
        if isinstance(inputs, str):
            inputs = {"question": inputs}
        history = inputs.get("history")
        return answer_question(collection, inputs["question"], history, config=config)

    return RunnableLambda(run).with_config(run_name="rag")
