"""A plain Okapi BM25: the lexical baseline retrieval is measured against."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from scipy import sparse

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; no stemming or stop words: this is the *plain* baseline."""
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 over a fixed list of texts, scored with one sparse product per query.

    Example:
        >>> bm25 = BM25(["the cat sat", "a dog barked"])
        >>> bm25.top("dog", 1)[0][0]
        1
    """

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        lengths = np.zeros(len(texts))
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths[row] = len(tokens)
            for term, n in Counter(tokens).items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(n)
        tf = sparse.csr_matrix((counts, (rows, cols)), shape=(len(texts), len(vocab)), dtype=float)
        df = np.bincount(cols, minlength=len(vocab)) if cols else np.zeros(0)
        self.idf = np.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1e-9)) if len(texts) else lengths
        # Precompute each (document, term) weight: idf * tf (k1 + 1) / (tf + norm).
        tf = tf.tocoo()
        weights = tf.data * (k1 + 1) / (tf.data + norm[tf.row]) * self.idf[tf.col]
        self._weights = sparse.csc_matrix((weights, (tf.row, tf.col)), shape=tf.shape)
        self._vocab = vocab

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query`` (repeated query terms count once each)."""
        ids = [self._vocab[t] for t in tokenize(query) if t in self._vocab]
        if not ids:
            return np.zeros(self._weights.shape[0])
        query_vector = np.bincount(ids, minlength=self._weights.shape[1]).astype(float)
        return np.asarray(self._weights @ query_vector).ravel()

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (index, score) pairs, best first, ties by index; zero scores left out."""
        scores = self.scores(query)
        order = np.lexsort((np.arange(len(scores)), -scores))[:k]
        return [(int(i), float(scores[i])) for i in order if scores[i] > 0]
