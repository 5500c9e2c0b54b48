"""Follow-up questions answered with the conversation, from code (``history=``)."""

import pytest

from rag import RAG, Answer

FIRST = "What does the US-drafted framework ask of Ukraine?"
RUSSIA = "And what did Russia say about it?"


@pytest.fixture(scope="module")
def first(default_rag: RAG) -> Answer:
    return default_rag.answer(FIRST)


def test_a_follow_up_is_rewritten_with_the_previous_question(
    default_rag: RAG, first: Answer
) -> None:
    found = default_rag.answer(RUSSIA, history=[first])
    assert found.question == RUSSIA
    assert found.rewritten == f"what did Russia say about it? (following: {FIRST})"


def test_a_follow_up_is_answered_from_what_it_asks(default_rag: RAG, first: Answer) -> None:
    found = default_rag.answer(RUSSIA, history=[first])
    assert not found.abstained
    assert any("The Russian response" in c.quote for c in found.citations)


def test_chat_messages_serve_as_history(default_rag: RAG, first: Answer) -> None:
    messages = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": first.text},
    ]
    assert default_rag.answer(RUSSIA, history=messages).rewritten == (
        default_rag.answer(RUSSIA, history=[first]).rewritten
    )


def test_a_question_that_stands_alone_is_answered_as_without_history(
    default_rag: RAG, first: Answer
) -> None:
    question = "Where are diplomats meeting?"
    with_history = default_rag.answer(question, history=[first])
    assert with_history.rewritten is None
    assert with_history.text == default_rag.answer(question).text


def test_stream_ends_with_the_answer(default_rag: RAG, first: Answer) -> None:
    *_, last = default_rag.stream(FIRST)
    assert last.text == first.text


@pytest.fixture(scope="module")
def two_topics(tmp_path_factory: pytest.TempPathFactory) -> RAG:
    """Two documents that both mention opening hours: only the conversation tells
    which one a follow-up means."""
    docs = tmp_path_factory.mktemp("two-topics")
    (docs / "library.txt").write_text(
        "The Quillmouth library opens at nine on weekdays. "
        "It lends bicycles to visitors for a small fee.\n",
        encoding="utf-8",
    )
    (docs / "museum.txt").write_text(
        "The Quillmouth museum opens at ten on weekends. "
        "It lends audio guides to visitors for free.\n",
        encoding="utf-8",
    )
    rag = RAG(corpus_dir=docs, index_dir=tmp_path_factory.mktemp("two-topics-index"))
    rag.ingest(progress=False)
    return rag


def test_the_conversation_picks_the_document_a_follow_up_means(two_topics: RAG) -> None:
    first = two_topics.answer("When does the Quillmouth library open?")
    found = two_topics.answer("What does it lend to visitors?", history=[first])
    assert found.citations and found.citations[0].source == "library.txt"
    assert "bicycles" in found.text


def test_without_the_conversation_the_other_document_can_answer(two_topics: RAG) -> None:
    """Guards the test above: the follow-up alone does not name the library."""
    first = two_topics.answer("When does the Quillmouth museum open?")
    found = two_topics.answer("What does it lend to visitors?", history=[first])
    assert found.citations[0].source == "museum.txt"


def test_the_module_answer_takes_a_history(fresh_module) -> None:
    assert fresh_module.answer(RUSSIA, history=[FIRST]).rewritten is not None


def test_stream_yields_each_part_of_a_streaming_answerer(default_rag: RAG) -> None:
    """Plumbing only: an answerer with ``stream`` is streamed, for follow-ups too."""

    class TwoParts:
        def __call__(self, question, passages, context=""):
            return Answer(question, "one two")

        def stream(self, question, passages, context=""):
            yield Answer(question, "one")
            yield Answer(question, f"one two ({context})")

    rag = RAG(default_rag.settings, answerer=TwoParts())
    parts = list(rag.stream(RUSSIA, history=[FIRST]))
    assert [p.text for p in parts] == ["one", f"one two ({FIRST})"]
    assert all(p.question == RUSSIA and p.rewritten for p in parts)
