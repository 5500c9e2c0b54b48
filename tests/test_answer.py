"""Answers: cited with exact quotes, numbered in order, abstaining when the sources don't say."""

import re
from pathlib import Path

import pytest
from langchain_core.runnables import Runnable

from rag import RAG, Answer, Citation, Passage
from tests.conftest import ARTICLE, source_text

IN_RETURN = "What would Ukraine receive in exchange for ceding territory?"
ANSWERABLE = [
    IN_RETURN,
    "Was Ukraine involved in preparing the framework?",
    "How did European diplomats describe the proposal?",
    "Where are diplomats meeting?",
]
OFF_TOPIC = [
    "What is the boiling point of nitrogen?",
    "What is a good recipe for pancakes?",
    "Who won the 1998 football world cup?",
]
MARKERS = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def answers(default_rag: RAG) -> dict[str, Answer]:
    return {q: default_rag.answer(q) for q in ANSWERABLE + OFF_TOPIC}


def test_answers_with_a_quote_of_the_security_guarantees_sentence(
    answers: dict[str, Answer],
) -> None:
    found = answers[IN_RETURN]
    assert not found.abstained
    quotes = [c.quote for c in found.citations]
    assert any("in return for international security guarantees" in q for q in quotes)


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_quote_is_the_source_text_at_its_offsets(
    answers: dict[str, Answer], corpus_dir: Path, question: str
) -> None:
    citations = answers[question].citations
    assert citations
    for c in citations:
        assert source_text(corpus_dir, c.source)[c.start : c.end] == c.quote


@pytest.mark.parametrize("question", ANSWERABLE)
def test_citations_are_numbered_from_one_and_each_is_used(
    answers: dict[str, Answer], question: str
) -> None:
    found = answers[question]
    assert [c.number for c in found.citations] == list(range(1, len(found.citations) + 1))
    used = {int(n) for n in MARKERS.findall(found.text)}
    assert used == {c.number for c in found.citations}


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_sentence_of_an_answer_ends_with_a_marker(
    answers: dict[str, Answer], question: str
) -> None:
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", answers[question].text)
    for sentence in sentences:
        assert re.search(r"(\[\d+\])+[.!?]?$", sentence), sentence


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_abstain(answers: dict[str, Answer], question: str) -> None:
    found = answers[question]
    assert found.abstained
    assert found.citations == []
    assert found.text.startswith("The sources don't say")


def test_an_empty_question_abstains_without_retrieving(default_rag: RAG) -> None:
    found = default_rag.answer("   ")
    assert found.abstained and not found.citations


def test_an_empty_index_abstains(make_rag) -> None:
    found = make_rag().answer(IN_RETURN)
    assert found.abstained and found.passages == []


def test_dense_retrieve_returns_passages_by_cosine_with_offsets(
    default_rag: RAG, corpus_dir: Path
) -> None:
    dense = RAG(default_rag.settings.model_copy(update={"retrieval": "dense"}))
    passages = dense.retrieve(IN_RETURN, k=3)
    assert len(passages) == 3
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert source_text(corpus_dir, p.source)[p.start : p.end] == p.text


def test_the_chain_is_a_runnable_from_question_to_answer(default_rag: RAG) -> None:
    chain = default_rag.chain()
    assert isinstance(chain, Runnable)
    first, second = chain.batch([IN_RETURN, OFF_TOPIC[0]])
    assert isinstance(first, Answer) and not first.abstained
    assert isinstance(second, Answer) and second.abstained


def test_the_answerer_is_pluggable(default_rag: RAG) -> None:
    """Plumbing only: a custom answerer receives the retrieved passages."""
    seen: list[list[Passage]] = []

    def first_passage(question: str, passages: list[Passage]) -> Answer:
        seen.append(passages)
        p = passages[0]
        return Answer(question, f"{p.text} [1]", [Citation(1, p.source, p.text, p.start, p.end)])

    custom = RAG(default_rag.settings, answerer=first_passage)
    found = custom.answer(IN_RETURN)
    assert seen and len(seen[0]) == default_rag.settings.k
    assert found.citations[0].source == ARTICLE


def test_module_answer_indexes_the_default_corpus_on_first_use(fresh_module) -> None:
    found = fresh_module.answer(IN_RETURN)
    assert not found.abstained
    assert fresh_module.default_rag().count() > 0


def test_each_part_of_a_compound_question_gets_its_sentence(default_rag: RAG) -> None:
    answer = default_rag.answer(
        "What might the United States gain from the outline, and what does pressing Kyiv risk?"
    )
    quotes = " ".join(c.quote for c in answer.citations)
    assert "pragmatic exit" in quotes
    assert "risks alienating the government in Kyiv" in quotes


SONGS = {
    "heroin.txt": "Heroin is a song by the Velvet Underground. It was written by Lou Reed.",
    "reed.txt": "Lou Reed was an American musician. He played guitar in the band and later "
    "sang on his solo records.",
    "weather.txt": "Rain fell on the city for most of the week. The harbour stayed calm.",
}


@pytest.fixture
def songs(make_rag) -> RAG:
    rag = make_rag(k=3)
    for name, text in SONGS.items():
        (rag.settings.corpus_dir / name).write_text(text)
    rag.ingest()
    return rag


def test_a_two_hop_question_cites_the_passage_about_what_the_first_names(songs: RAG) -> None:
    found = songs.answer("What instrument did the writer of Heroin play?")
    assert {c.source for c in found.citations} == {"heroin.txt", "reed.txt"}
    assert "guitar" in found.text


def test_a_passage_nothing_in_the_answer_names_is_not_a_second_hop(songs: RAG) -> None:
    found = songs.answer("Who wrote the song Heroin?")
    assert "weather.txt" not in {c.source for c in found.citations}
