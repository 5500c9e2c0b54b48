"""The one path a question takes: ask (clean, refuse, rewrite a follow-up) -> retrieve ->
read -> compose, as plain calls; a question asked again on an unchanged collection skips
to the answer kept for it (:mod:`rag.answer_cache`).

:func:`answer_question` is what ``RAG.answer`` runs; :func:`stream_answer` takes the same
steps and yields the reader's partial answers; :func:`answer_chain` wraps
:func:`answer_question` as a LangChain Runnable for those who compose chains. Nothing
here knows a collection's class: :class:`Answering` is what it needs of one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from rag.answer_cache import NO_CACHE, AnswerCache, CacheKey
from rag.config import Settings
from rag.reading.answer import Answer, Answerer, clean_question, refusal
from rag.reading.conversation import Asked, Turn, earlier_questions
from rag.retrieve import Passage


class Answering(Protocol):
    """What answering needs of a collection: its settings (name, limits), its reader and
    its retrieval. One may also have an ``answer_cache`` (an :class:`AnswerCache`): a
    question asked again is then answered from it (:func:`cache_of`)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def answerer(self) -> Answerer: ...

    def retrieve(
        self, question: str, k: int | None = None, *, config: RunnableConfig | None = None
    ) -> list[Passage]: ...


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


def cache_of(collection: Answering) -> AnswerCache:
    """The collection's ``answer_cache`` (:mod:`rag.answer_cache`); for one without, a
    cache that keeps nothing."""
    cache = getattr(collection, "answer_cache", None)
    return NO_CACHE if cache is None else cache


def known(
    collection: Answering, question: str, history: Iterable[Turn] | None
) -> Answer | CacheKey:
    """The answer already known, with no retrieval: a refused question's, or the one kept
    for the question asked before on the collection as it is now. Else the question as
    asked, keyed to the collection now (a :class:`CacheKey`): to read, and keep under."""
    asked = ask(question, history, collection.settings.max_question_chars)
    if isinstance(asked, Answer):
        return compose(collection, asked)
    cache = cache_of(collection)
    key = cache.key(asked)
    kept = cache.get(key)
    return key if kept is None else kept


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
    ``RAG.answer``); or the answer kept for it, when it was asked before on the
    collection as it is now. ``config`` carries a LangChain run's callbacks to the
    retrieval."""
    found = known(collection, question, history)
    if isinstance(found, Answer):
        return found
    asked = found.asked
    passages = collection.retrieve(asked.search, config=config)
    answer = compose(collection, collection.answerer(asked.focus, passages, **asked.extra), asked)
    cache_of(collection).put(found, answer)
    return answer


def stream_answer(
    collection: Answering, question: str, history: Iterable[Turn] | None = None
) -> Iterator[Answer]:
    """:func:`answer_question`'s steps, yielding the answer as the reader writes it: a
    reader with a ``stream`` method (same arguments, yielding Answers) is streamed; one
    without gives its Answer whole, and so does the cache. A streamed answer is kept once
    the stream has been read to its end."""
    streaming = getattr(collection.answerer, "stream", None)
    if streaming is None:
        yield answer_question(collection, question, history)
        return
    found = known(collection, question, history)
    if isinstance(found, Answer):
        yield found
        return
    asked = found.asked
    answer = None
    for partial in streaming(asked.focus, collection.retrieve(asked.search), **asked.extra):
        answer = compose(collection, partial, asked)
        yield answer
    if answer is not None:
        cache_of(collection).put(found, answer)


def answer_chain(collection: Answering) -> Runnable[str | dict[str, Any], Answer]:
    """:func:`answer_question` as a LangChain Runnable. The input is a question, or
    ``{"question": ..., "history": [...]}`` for a follow-up; retrieval runs as a child
    of this run, so callbacks see both (a question answered from the cache has none)."""

    def run(inputs: str | dict[str, Any], config: RunnableConfig) -> Answer:
        if isinstance(inputs, str):
            inputs = {"question": inputs}
        history = inputs.get("history")
        return answer_question(collection, inputs["question"], history, config=config)

    return RunnableLambda(run).with_config(run_name="rag")
