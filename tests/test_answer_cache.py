"""The answer cache (rag.answer_cache): a question asked again on an unchanged collection
gets the answer already computed, with no retrieval and no reading; any change to the
collection, by this client or another, makes it read again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from rag import RAG, Answer, Citation, Passage
from tests.test_answer import IN_RETURN, OFF_TOPIC

FOLLOW_UP = "And what did Europe think of it?"
OTHER = "How did European diplomats describe the proposal?"


class Counting:
    """A reader that reads with ``reader`` and notes every question it is given."""

    def __init__(self, reader: Callable[..., Answer]) -> None:
        self.reader = reader
        self.read: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, question: str, passages: list[Passage], **extra: str) -> Answer:
        with self._lock:
            self.read.append(question)
        return self.reader(question, passages, **extra)


def first_passage(question: str, passages: list[Passage], context: str = "") -> Answer:
    """A reader that answers at once: the best passage, cited whole."""
    if not passages:
        return Answer.sources_dont_say(question, passages)
    p = passages[0]
    citation = Citation(1, p.source, p.text, p.start, p.end)
    return Answer(question, f"{p.text} [1]", [citation], passages=passages)


def counting_rag(default_rag: RAG, reader: Callable[..., Answer], **settings: Any) -> RAG:
    """A RAG over the default corpus's index whose reader counts what it reads."""
    return RAG(default_rag.settings.model_copy(update=settings), answerer=Counting(reader))


def reads(rag: RAG) -> list[str]:
    return rag.answerer.read  # type: ignore[attr-defined]


def searches(rag: RAG, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The questions ``rag`` retrieves for from now on (its retrieval runs as before)."""
    searched: list[str] = []
    real = rag.retrieve

    def retrieve(question: str, *args: Any, **kwargs: Any) -> list[Passage]:
        searched.append(question)
        return real(question, *args, **kwargs)

    monkeypatch.setattr(rag, "retrieve", retrieve)
    return searched


def test_a_question_asked_again_is_answered_without_retrieving_or_reading(
    default_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = counting_rag(default_rag, default_rag.answerer)
    searched = searches(rag, monkeypatch)
    first = rag.answer(IN_RETURN)
    assert first.citations and searched == reads(rag) == [IN_RETURN]
    assert rag.answer(IN_RETURN) == first
    assert rag.chain().invoke(IN_RETURN) == first
    assert list(rag.stream(IN_RETURN)) == [first]
    assert searched == reads(rag) == [IN_RETURN]


def test_an_abstention_is_kept_too(default_rag: RAG) -> None:
    rag = counting_rag(default_rag, default_rag.answerer)
    first = rag.answer(OFF_TOPIC[0])
    assert first.abstained
    assert rag.answer(OFF_TOPIC[0]) == first
    assert reads(rag) == [OFF_TOPIC[0]]


def test_the_same_question_in_other_whitespace_is_the_same_question(default_rag: RAG) -> None:
    rag = counting_rag(default_rag, first_passage)
    first = rag.answer(IN_RETURN)
    again = rag.answer("  " + IN_RETURN.replace(" ", "  \u200b") + "\n")
    assert again == first and reads(rag) == [IN_RETURN]


def test_an_answer_handed_out_cannot_change_the_one_kept(default_rag: RAG) -> None:
    rag = counting_rag(default_rag, first_passage)
    first = rag.answer(IN_RETURN)
    kept = rag.answer(IN_RETURN)
    first.text, kept.text = "changed", "changed too"
    first.citations.clear()
    kept.passages.clear()
    third = rag.answer(IN_RETURN)
    assert third.text != "changed" and third.text != "changed too"
    assert third.citations and third.passages
    assert len(reads(rag)) == 1


def test_a_follow_up_is_kept_for_its_conversation_alone(default_rag: RAG) -> None:
    rag = counting_rag(default_rag, default_rag.answerer)
    after_first = rag.answer(FOLLOW_UP, history=[IN_RETURN])
    after_other = rag.answer(FOLLOW_UP, history=[OTHER])
    alone = rag.answer(FOLLOW_UP)
    assert after_first.rewritten != after_other.rewritten
    assert alone.rewritten is None
    assert len(reads(rag)) == 3
    # The same conversation in another shape (an Answer, chat messages) is the same one.
    first = default_rag.answer(IN_RETURN)
    assert rag.answer(FOLLOW_UP, history=[first]) == after_first
    messages = [{"role": "user", "content": IN_RETURN}, {"role": "assistant", "content": "..."}]
    assert rag.answer(FOLLOW_UP, history=messages) == after_first
    # A question that stands alone is the same question whatever was asked before it.
    assert rag.answer(IN_RETURN) == rag.answer(IN_RETURN, history=[OTHER])
    assert len(reads(rag)) == 4


def test_an_answer_cache_of_0_keeps_nothing(
    default_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_ANSWER_CACHE", "0")
    where = default_rag.settings.documents
    rag = RAG(
        corpus_dir=where.corpus_dir, index_dir=where.index_dir, answerer=Counting(first_passage)
    )
    assert rag.settings.answer_cache == 0
    assert rag.answer(IN_RETURN) == rag.answer(IN_RETURN)
    assert reads(rag) == [IN_RETURN, IN_RETURN]
    assert len(rag.answer_cache) == 0


def test_the_least_recently_asked_are_forgotten_beyond_the_size(default_rag: RAG) -> None:
    rag = counting_rag(default_rag, first_passage, answer_cache=2)
    for question in (IN_RETURN, OTHER, IN_RETURN, OFF_TOPIC[0], IN_RETURN, OTHER):
        rag.answer(question)
    # IN_RETURN asked again stayed; OTHER, least recently asked when a third came, went.
    assert reads(rag) == [IN_RETURN, OTHER, OFF_TOPIC[0], OTHER]
    assert len(rag.answer_cache) == 2


def test_threads_asking_at_once_get_the_answers_a_lone_caller_gets(default_rag: RAG) -> None:
    questions = [IN_RETURN, OTHER, OFF_TOPIC[0], FOLLOW_UP]
    alone = counting_rag(default_rag, first_passage, answer_cache=0)
    expected = {q: alone.answer(q) for q in questions}
    rag = counting_rag(default_rag, first_passage, answer_cache=2)  # evicting all the time
    asked = [questions[i % len(questions)] for i in range(64)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(rag.answer, asked))
    assert answers == [expected[q] for q in asked]
    assert len(rag.answer_cache) <= 2
    assert len(reads(rag)) < len(asked)


class TwoParts:
    """A streaming reader: the answer in two parts, counting the streams it starts."""

    def __init__(self) -> None:
        self.streams = 0

    def __call__(self, question: str, passages: list[Passage], context: str = "") -> Answer:
        return Answer(question, "one two")

    def stream(self, question: str, passages: list[Passage], context: str = "") -> Iterator[Answer]:
        self.streams += 1
        yield Answer(question, "one")
        yield Answer(question, "one two")


def test_a_streamed_answer_asked_again_comes_whole(default_rag: RAG) -> None:
    reader = TwoParts()
    rag = RAG(default_rag.settings, answerer=reader)
    assert [a.text for a in rag.stream(IN_RETURN)] == ["one", "one two"]
    assert [a.text for a in rag.stream(IN_RETURN)] == ["one two"]
    assert rag.answer(IN_RETURN).text == "one two"
    assert reader.streams == 1


def test_a_stream_left_unfinished_is_not_kept(default_rag: RAG) -> None:
    reader = TwoParts()
    rag = RAG(default_rag.settings, answerer=reader)
    stream = rag.stream(IN_RETURN)
    assert next(stream).text == "one"
    stream.close()
    assert [a.text for a in rag.stream(IN_RETURN)] == ["one", "one two"]
    assert reader.streams == 2


def test_a_failed_answer_is_not_kept(default_rag: RAG) -> None:
    failures = iter([RuntimeError("the reader failed")])

    def fails_once(question: str, passages: list[Passage], context: str = "") -> Answer:
        for failure in failures:
            raise failure
        return first_passage(question, passages)

    rag = counting_rag(default_rag, fails_once)
    with pytest.raises(RuntimeError):
        rag.answer(IN_RETURN)
    assert rag.answer(IN_RETURN).citations
    assert rag.answer(IN_RETURN).citations
    assert reads(rag) == [IN_RETURN, IN_RETURN]


def test_an_answer_the_language_model_could_not_write_is_not_kept(default_rag: RAG) -> None:
    """The fallback's answer says the model was down: true of that moment, not of later."""

    def model_down(question: str, passages: list[Passage], context: str = "") -> Answer:
        return Answer(question, "quoted", note="The language model could not answer")

    rag = counting_rag(default_rag, model_down)
    rag.answer(IN_RETURN)
    rag.answer(IN_RETURN)
    assert reads(rag) == [IN_RETURN, IN_RETURN]


MUSEUM = "When does the Harbour Museum open?"


def museum(hour: str) -> str:
    return (
        "The Harbour Museum stands on the old quay, beside the fish market. "
        f"The Harbour Museum opens at {hour} in the morning on weekdays. "
        "Children under twelve enter for free, and guided tours run every hour."
    )


@pytest.mark.parametrize("writer", ["this client", "another client"])
def test_a_changed_collection_is_read_again(make_rag: Callable[..., RAG], writer: str) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "museum.txt").write_text(museum("nine"))
    rag.ingest()
    before = rag.answer(MUSEUM)
    assert "nine" in before.citations[0].quote
    assert rag.answer(MUSEUM) == before  # kept

    ingesting = rag if writer == "this client" else RAG(rag.settings)
    (rag.settings.corpus_dir / "museum.txt").write_text(museum("eleven"))
    ingesting.ingest()
    after = rag.answer(MUSEUM)
    assert "eleven" in after.citations[0].quote

    ingesting.remove("museum.txt")
    assert rag.answer(MUSEUM).abstained
