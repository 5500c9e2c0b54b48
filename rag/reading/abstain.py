"""Whether the retrieved evidence answers the question: a small logistic model over
features that cosine similarity alone cannot see.

Cosine similarity cannot tell an on-topic unanswerable question from an answerable one
("how many square kilometres would Ukraine hand over?" scores 0.54 against the default
corpus, above several answerable questions). What does tell them apart is whether the
evidence has what the question asks for: its words (a term of the question found
nowhere in the passages), and the kind of answer (a number for "how many", a date for
"when", a name for "who"). :func:`features` measures these; :class:`AbstentionModel`
weighs them, with weights the project trains itself (``evals/train.py``, on
SQuAD v1.1 train) and ships in ``rag/reading/abstention.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.reading.judge import STOPWORDS, WORD, content_terms, stem
from rag.reading.logistic import LogisticModel

WEIGHTS = Path(__file__).with_name("abstention.json")

FEATURES = (
    "cosine",
    "passage_cosine",
    "answer_coverage",
    "passage_coverage",
    "retrieved_coverage",
    "specific_missing",
    "type_found",
    "type_missing",
)
"""What :func:`features` returns, in order (the model's inputs)."""

_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)*")

_NUMBER_WORDS = frozenset(
    """zero two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred thousand million billion trillion dozen dozens hundreds thousands millions
    billions half percent per cent""".split()
)
_MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)
_DATE_WORDS = _MONTHS | frozenset(
    """monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow week
    weeks month months year years decade decades century centuries spring summer autumn
    winter""".split()
)
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})s?$")

_EXPECTS = (
    (
        "number",
        r"\bhow (many|much|long|far|old|often|large|big|high|tall)\b"
        r"|\bwhat (percentage|number|amount)\b",
    ),
    ("date", r"\bwhen\b|\bwhat (year|date|day|month|time|century|decade)\b"),
    ("name", r"\bwho(m|se)?\b|\bwhere\b|\bwhich (country|city|company|person|team|party)\b"),
)
"""Question patterns and the kind of answer they expect, first match wins."""


def specific_terms(question: str) -> set[str]:
    """Numbers and capitalised words after the first: names and figures a question
    is about, which evidence that answers it almost always repeats (split into words as
    :func:`rag.reading.judge.content_terms` splits the evidence: "600,000" is "600" and "000",
    "Ukraine's" one word)."""
    words = WORD.findall(question)
    return {
        stem(w.lower())
        for i, w in enumerate(words)
        if w.lower() not in STOPWORDS and (w[0].isdigit() or (i > 0 and w[0].isupper()))
    }


def expected_kind(question: str) -> str | None:
    """``"number"``, ``"date"`` or ``"name"``: the kind of answer a question asks for."""
    for kind, pattern in _EXPECTS:
        if re.search(pattern, question, re.IGNORECASE):
            return kind
    return None


def has_kind(kind: str, sentences: list[str], question: str) -> bool:
    """Whether ``sentences`` hold an answer of ``kind`` that the question does not
    already contain (a year in the question is not the answer to "when")."""
    asked = {w.lower() for w in _TOKEN.findall(question)}
    for sentence in sentences:
        words = _TOKEN.findall(sentence)
        for i, word in enumerate(words):
            if word.lower() in asked:
                continue
            if kind == "number" and _is_quantity(words, i):
                return True
            if kind == "date" and (_YEAR.match(word) or word.lower() in _DATE_WORDS):
                return True
            # a name: a capitalised word that is not merely the first of its sentence
            if kind == "name" and i > 0 and word[0].isupper() and word.lower() not in STOPWORDS:
                return True
    return False


def _is_quantity(words: list[str], i: int) -> bool:
    """A count or amount, not a year or the day of a date ("November 19")."""
    word = words[i].lower()
    if word in _NUMBER_WORDS:
        return True
    after_month = i > 0 and words[i - 1].lower() in _MONTHS
    return word[0].isdigit() and not _YEAR.match(word) and not after_month


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 1.0


def features(
    question: str,
    answer: list[str],
    passage: str,
    retrieved: list[str],
    cosine: float,
    passage_cosine: float,
) -> np.ndarray:
    """The model's inputs (:data:`FEATURES`) for one question and its evidence.

    ``answer`` is the sentences the answerer picked, ``passage`` the passage holding the
    best of them, ``retrieved`` every retrieved passage's text; ``cosine`` is the best
    sentence's similarity to the question and ``passage_cosine`` the best passage's.
    """
    wanted = content_terms(question)
    evidence = " ".join(answer)
    everything = content_terms(" ".join(retrieved))
    specific = specific_terms(question)
    kind = expected_kind(question)
    found = kind is not None and has_kind(kind, answer, question)
    return np.array(
        [
            cosine,
            passage_cosine,
            _share(wanted, content_terms(evidence)),
            _share(wanted, content_terms(passage)),
            _share(wanted, everything),
            min(len(specific - everything), 2) / 2,
            float(found),
            float(kind is not None and not found),
        ]
    )


@dataclass(frozen=True)
class AbstentionModel(LogisticModel):
    """``confidence`` is the probability that the evidence answers the question; below
    ``threshold``, abstain.

    Example:
        >>> model = AbstentionModel.load()
        >>> 0.0 <= model.confidence(np.zeros(len(FEATURES))) <= 1.0
        True
    """

    NAMES = FEATURES
    PATH = WEIGHTS

    def confidence(self, x: np.ndarray) -> float:
        return float(self.probability(x))
