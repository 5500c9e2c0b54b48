"""The plain BM25 baseline ranks as Okapi BM25 should."""

from rag.bm25 import BM25, tokenize


def test_tokenize_lowercases_words_without_stemming() -> None:
    assert tokenize("Cats, DOGS and U.N.") == ["cats", "dogs", "and", "u", "n"]


def test_the_text_with_the_rare_query_term_ranks_first() -> None:
    bm25 = BM25(["the cat sat", "the cat ran", "the zebra ran"])
    assert bm25.top("the zebra", 1)[0][0] == 2


def test_term_frequency_saturates() -> None:
    bm25 = BM25(["cat x x x", "cat cat x x", "cat cat cat cat", "bird bird bird bird"])
    one, two, four = bm25.scores("cat")[:3]
    assert one < two < four
    assert (four - two) / 2 < two - one  # each further occurrence adds less


def test_longer_texts_score_lower_for_the_same_term_count() -> None:
    bm25 = BM25(["cat", "cat " + "filler " * 20, "bird"])
    s = bm25.scores("cat")
    assert s[0] > s[1] > 0


def test_unknown_query_terms_score_zero_and_return_nothing() -> None:
    bm25 = BM25(["the cat sat", "a dog"])
    assert not bm25.scores("zebra").any()
    assert bm25.top("zebra", 5) == []


def test_ties_keep_the_original_order() -> None:
    bm25 = BM25(["cat one", "cat two", "dog"])
    assert [i for i, _ in bm25.top("cat", 3)] == [0, 1]
