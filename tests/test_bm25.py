"""The plain BM25 baseline ranks as textbook Okapi BM25 does."""

from __future__ import annotations

import math

import pytest

from rag.index.bm25 import BM25, tokenize


def test_tokenize_lowercases_unicode_words_without_stemming_or_stop_words() -> None:
    assert tokenize("The Cats, DOGS and Zoë's U.N.") == [
        "the",
        "cats",
        "dogs",
        "and",
        "zoë",
        "s",
        "u",
        "n",
    ]


def test_scores_follow_the_okapi_formula() -> None:
    texts = ["apple banana apple", "banana cherry", "cherry cherry cherry date"]
    avgdl = (3 + 2 + 4) / 3

    def idf(df: int) -> float:
        return math.log(1 + (3 - df + 0.5) / (df + 0.5))

    def term(tf: int, length: int, df: int) -> float:
        return idf(df) * tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * length / avgdl))

    expected = [term(2, 3, 1) + term(1, 3, 2), term(1, 2, 2), 0.0]
    assert BM25(texts).scores("apple banana") == pytest.approx(expected)


def test_the_text_with_the_rare_query_term_ranks_first() -> None:
    bm25 = BM25(["the cat sat", "the cat ran", "the zebra ran"])
    assert bm25.top("the zebra", 1)[0][0] == 2


def test_term_frequency_saturates() -> None:
    bm25 = BM25(["cat x x x", "cat cat x x", "cat cat cat cat", "bird bird bird bird"])
    one, two, four = bm25.scores("cat")[:3]
    assert one < two < four
    assert (four - two) / 2 < two - one  # each further occurrence adds less
    assert four < math.log(1 + 1.5 / 3.5) * 2.5  # never past idf (k1 + 1), however many


def test_longer_texts_score_lower_for_the_same_term_count() -> None:
    bm25 = BM25(["cat", "cat " + "filler " * 20, "bird"])
    s = bm25.scores("cat")
    assert s[0] > s[1] > 0


def test_unknown_query_terms_score_zero_and_return_nothing() -> None:
    bm25 = BM25(["the cat sat", "a dog"])
    assert not bm25.scores("zebra").any()
    assert bm25.top("zebra", 5) == []


def test_top_is_best_first_and_ties_keep_the_text_order() -> None:
    bm25 = BM25(["dog", "cat one", "cat cat", "cat two", "cat three"])
    ranked = bm25.top("cat", 3)
    assert [i for i, _ in ranked] == [2, 1, 3]  # 1, 3 and 4 tie; k cuts after the first two
    assert ranked[0][1] > ranked[1][1] == ranked[2][1]


def test_top_returns_fewer_than_k_when_fewer_texts_match() -> None:
    assert [i for i, _ in BM25(["cat", "dog"]).top("cat", 10)] == [0]


def test_an_empty_corpus_scores_nothing() -> None:
    bm25 = BM25([])
    assert len(bm25.scores("cat")) == 0
    assert bm25.top("cat", 3) == []
