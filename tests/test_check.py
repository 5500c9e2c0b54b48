"""check(): any text verified against the sources, sentence by sentence, with exact quotes."""

from __future__ import annotations

import pytest

from rag import RAG, Check
from rag.reading import check as check_module
from rag.reading.check import Checker, claims_of, lexical_verdict
from rag.reading.extractive import SentenceVectors
from tests.conftest import ARTICLE, source_text

DRAFT = (
    "Diplomats were meeting in Paris and Berlin. "
    "The report came out in November 2025. "
    "The Kremlin welcomed the proposal."
)


@pytest.fixture(scope="module")
def checked(default_rag: RAG) -> Check:
    return default_rag.check(DRAFT)


def test_each_sentence_of_the_text_gets_a_verdict_in_order(checked: Check) -> None:
    assert [s.verdict for s in checked.sentences] == ["contradicted", "supported", "not found"]
    assert [s.supported for s in checked.sentences] == [False, True, False]
    assert [DRAFT[s.start : s.end] for s in checked.sentences] == [
        s.text for s in checked.sentences
    ]


def test_a_supported_sentence_cites_an_exact_quote_of_the_source(
    checked: Check, corpus_dir
) -> None:
    supported = checked.sentences[1]
    text = source_text(corpus_dir, ARTICLE)
    assert supported.citations
    for c in supported.citations:
        assert c.source == ARTICLE and text[c.start : c.end] == c.quote
    assert any("November 19, 2025" in c.quote for c in supported.citations)
    assert 0.5 <= supported.score <= 1.0


def test_a_contradicted_sentence_cites_what_contradicts_it(checked: Check) -> None:
    contradicted = checked.sentences[0]
    assert any("diplomats meet in Ankara and Kyiv" in c.quote for c in contradicted.citations)


def test_a_claim_the_sources_do_not_make_cites_nothing(checked: Check) -> None:
    assert checked.sentences[2].citations == []


def test_the_check_prints_as_a_readable_list(checked: Check) -> None:
    text = str(checked)
    assert text.startswith("1 supported, 1 contradicted, 1 not found, of 3 sentences.")
    assert "✗ contradicted" in text and "✓ supported" in text and "? not found" in text
    assert f'[1] {ARTICLE}: "' in text


def test_each_candidate_is_read_after_the_sentence_before_it_in_its_document(
    default_rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The context read with a candidate is the sentence before it in the document, even
    when that sentence is not a candidate itself (it once was the previous candidate)."""
    monkeypatch.setattr(check_module, "CANDIDATES", 2)
    model = default_rag.crossencoder
    read: list[tuple[str, str]] = []

    def support(firsts, seconds, contexts):
        read.extend(zip(seconds, contexts, strict=True))
        return model.support(firsts, seconds, contexts)

    spy = type("Spy", (), {"support": staticmethod(support), "card": model.card})()
    checker = Checker(default_rag.retrieve, spy, SentenceVectors(default_rag.embeddings))
    checker.sentence("The framework was drafted without Ukraine and offers security guarantees.")
    text = source_text(default_rag.settings.corpus_dir, ARTICLE)
    assert len(read) == 2
    for sentence, context in read:
        before = text[: text.index(sentence)].rstrip()
        right_before = before.endswith(context) and (context or not before)
        assert right_before, f"{context!r} is not right before {sentence!r}"


def test_an_empty_text_has_nothing_to_check(default_rag: RAG) -> None:
    result = default_rag.check("  \n ")
    assert result.sentences == []
    assert str(result) == "Nothing to check: the text has no sentences."


def test_a_text_over_the_limit_is_refused_with_the_setting_named(default_rag: RAG) -> None:
    small = RAG(default_rag.settings.model_copy(update={"max_check_chars": 10}))
    with pytest.raises(ValueError, match="RAG_MAX_CHECK_CHARS"):
        small.check("A sentence that is longer than ten characters.")


def test_progress_is_reported_after_each_sentence(default_rag: RAG) -> None:
    seen: list[tuple[int, int]] = []
    default_rag.check("Kyiv would cede land. Reuters reported it.", lambda *n: seen.append(n))
    assert seen == [(1, 2), (2, 2)]


def test_headings_and_bare_words_are_not_checked() -> None:
    text = "Notes\nOK. The plan was drafted in Washington."
    assert [text[s:e] for s, e in claims_of(text)] == ["The plan was drafted in Washington."]


def test_the_lexical_judge_misses_the_paraphrase_the_model_supports(
    checked: Check, default_rag: RAG
) -> None:
    claim = checked.sentences[1].text
    assert checked.sentences[1].verdict == "supported"
    assert lexical_verdict(claim, default_rag.retrieve(claim)) == "not found"


MUSEUM = (
    "The Alder Valley Museum stands beside the old mill. The museum has been open since "
    "1985. It shows tools, looms and photographs of the valley's farms."
)


@pytest.fixture(scope="module")
def museum(tmp_path_factory: pytest.TempPathFactory) -> RAG:
    root = tmp_path_factory.mktemp("museum")
    (root / "docs").mkdir()
    (root / "docs" / "museum.txt").write_text(MUSEUM)
    rag = RAG(corpus_dir=root / "docs", index_dir=root / "index")
    rag.ingest()
    return rag


def test_a_claim_the_source_flatly_denies_is_contradicted_not_supported(museum: RAG) -> None:
    """(The shipped model also finds the unrelated sentences contradicting, "It shows
    tools" most of all: the denying one is cited, not first. notes/stop-38-note.md.)"""
    (checked,) = museum.check("The museum opened in 1990.").sentences
    assert checked.verdict == "contradicted"
    assert any("open since 1985" in c.quote for c in checked.citations)


def test_the_same_claim_with_the_sources_year_is_supported(museum: RAG) -> None:
    (checked,) = museum.check("The museum opened in 1985.").sentences
    assert checked.verdict == "supported"
    assert "open since 1985" in checked.citations[0].quote
