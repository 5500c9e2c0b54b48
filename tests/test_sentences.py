"""Sentence spans: exact offsets, not fooled by abbreviations or initials."""

from rag.documents.sentences import sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_splits_at_terminal_punctuation_before_a_capital() -> None:
    assert sentences("It rained. Then it stopped! Why? Nobody knows.") == [
        "It rained.",
        "Then it stopped!",
        "Why?",
        "Nobody knows.",
    ]


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    text = "The U.S. Navy met Dr. Smith and J. Doe. They agreed."
    assert sentences(text) == ["The U.S. Navy met Dr. Smith and J. Doe.", "They agreed."]


def test_decimal_numbers_stay_whole() -> None:
    assert sentences("Growth was 3.5 percent. Prices rose.") == [
        "Growth was 3.5 percent.",
        "Prices rose.",
    ]


def test_a_line_break_ends_a_sentence_even_without_punctuation() -> None:
    assert sentences("A Headline\nThe body starts here.") == ["A Headline", "The body starts here."]


def test_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  First one.   Second one.\n\n Third"
    for start, end in sentence_spans(text):
        piece = text[start:end]
        assert piece == piece.strip() and piece
