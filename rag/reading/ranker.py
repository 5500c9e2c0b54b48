"""Which sentences of the retrieved passages answer a question: a trained ranker.

Cosine similarity between the question and a sentence finds the sentence *about* the
question, not always the one that *answers* it: "What has Moscow long sought?" is
closest to a sentence on Moscow's diplomacy, while the answer is in the one that
repeats "Moscow has long sought". :func:`sentence_features` adds what a reader looks for
(the question's rarer words and word pairs, the words around the sentence, an answer of
the kind asked for, something the question does not already say) to the cosine;
:class:`SentenceRanker` weighs them, with weights trained by ``evals/train.py`` on
SQuAD v1.1 train and shipped in ``rag/reading/ranker.json``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

from rag.reading.abstain import expected_kind, has_kind
from rag.reading.judge import content_terms, content_words
from rag.reading.logistic import LogisticModel

FEATURES = (
    "cosine",
    "cosine_gap",
    "passage_cosine",
    "coverage",
    "weighted_coverage",
    "context_coverage",
    "bigrams",
    "novelty",
    "kind_found",
    "kind_missing",
    "length",
)
"""What :func:`sentence_features` returns per sentence, in order (the ranker's inputs)."""


@lru_cache(maxsize=65_536)
def _terms(text: str) -> frozenset[str]:
    return frozenset(content_terms(text))


@lru_cache(maxsize=65_536)
def _bigrams(text: str) -> frozenset[tuple[str, str]]:
    """Pairs of neighbouring content words (stop words dropped first, so "the United
    Nations Charter" gives ("unit", "nation"), ("nation", "charter"))."""
    return frozenset(pairwise(content_words(text)))


def _share(wanted: frozenset, found: frozenset) -> float:
    return len(wanted & found) / len(wanted) if wanted else 0.0


def sentence_features(
    question: str,
    sentences: list[str],
    cosines: np.ndarray,
    passage_cosines: np.ndarray,
    previous: list[str],
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate sentence.

    ``cosines`` are the sentences' similarities to the question, ``passage_cosines``
    those of the passages they come from, ``previous[i]`` the sentence before
    ``sentences[i]`` in its document ("" for the first). A word's weight in
    ``weighted_coverage`` is its rarity among the candidates, so a word every candidate
    has ("Ukraine" in an article about Ukraine) counts for little.
    """
    wanted = _terms(question)
    pairs = _bigrams(question)
    kind = expected_kind(question)
    found = [_terms(s) for s in sentences]
    df = Counter(t for terms in found for t in terms & wanted)
    idf = {t: math.log((len(sentences) + 1) / (df[t] + 0.5)) for t in wanted}
    total = sum(idf.values())
    best = float(cosines.max()) if len(cosines) else 0.0
    rows = []
    for text, terms, before, cosine, passage_cosine in zip(
        sentences, found, previous, cosines, passage_cosines, strict=True
    ):
        has = kind is not None and has_kind(kind, [text], question)
        rows.append(
            [
                float(cosine),
                float(cosine) - best,
                float(passage_cosine),
                _share(wanted, terms),
                sum(idf[t] for t in wanted & terms) / total if total else 0.0,
                _share(wanted, terms | _terms(before)),
                _share(pairs, _bigrams(text)),
                len(terms - wanted) / len(terms) if terms else 0.0,
                float(has),
                float(kind is not None and not has),
                math.log1p(len(text.split())),
            ]
        )
    return np.array(rows, dtype=float).reshape(len(sentences), len(FEATURES))


@dataclass(frozen=True)
class SentenceRanker(LogisticModel):
    """The probability that a sentence holds the answer. An answer starts with the
    likeliest sentence and the most similar one, then any other whose probability
    reaches ``threshold`` (chosen by the training script); the cosine reader's sentences
    fill the rest (see :meth:`rag.reading.extractive.ExtractiveAnswerer.read`).

    Example:
        >>> ranker = SentenceRanker.load()
        >>> ranker.features == FEATURES
        True
    """

    NAMES = FEATURES
    PATH = Path(__file__).with_name("ranker.json")
