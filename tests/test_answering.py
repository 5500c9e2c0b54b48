"""The one path a question takes (rag.answering): plain functions that answer(), stream()
and chain() all run, so each gives the same Answer."""

from dataclasses import dataclass, field

from langchain_core.runnables import RunnableConfig

from rag import RAG, Answer, Passage, Settings
from rag.answering import answer_question, stream_answer
from tests.test_answer import IN_RETURN, OFF_TOPIC


def test_answer_stream_and_chain_give_what_answer_question_gives(default_rag: RAG) -> None:
    for question in (IN_RETURN, OFF_TOPIC[0], "   "):
        plain = answer_question(default_rag, question)
        assert default_rag.answer(question) == plain
        assert default_rag.chain().invoke(question) == plain
        assert list(default_rag.stream(question))[-1] == plain


def test_a_follow_up_goes_the_same_way(default_rag: RAG) -> None:
    first = default_rag.answer(IN_RETURN)
    follow_up = "And what did Europe think of it?"
    plain = answer_question(default_rag, follow_up, [first])
    assert plain.rewritten
    assert default_rag.answer(follow_up, history=[first]) == plain
    assert default_rag.chain().invoke({"question": follow_up, "history": [first]}) == plain


@dataclass
class OnePassage:
    """Anything with settings, a reader and a retrieval can be answered from."""

    settings: Settings = field(default_factory=lambda: Settings(collection="plain"))
    searched: list[str] = field(default_factory=list)

    def answerer(self, question: str, passages: list[Passage]) -> Answer:
        return Answer(question, passages[0].text, passages=passages)

    def retrieve(
        self, question: str, k: int | None = None, *, config: RunnableConfig | None = None
    ) -> list[Passage]:
        self.searched.append(question)
        return [Passage("p1", "a.txt", "Mercury is the closest planet.", 0, 30, 1.0)]


def test_answering_needs_no_rag_only_settings_a_reader_and_a_retrieval() -> None:
    source = OnePassage()
    answer = answer_question(source, "Which planet is closest?")
    assert (answer.text, answer.collection) == ("Mercury is the closest planet.", "plain")
    assert source.searched == ["Which planet is closest?"]
    assert list(stream_answer(source, "Which planet is closest?")) == [answer]


def test_a_refused_question_is_not_searched() -> None:
    source = OnePassage()
    answer = answer_question(source, "\u200b  ")
    assert answer.abstained and source.searched == []
