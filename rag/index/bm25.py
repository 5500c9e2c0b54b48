"""A plain Okapi BM25: the lexical half of hybrid retrieval, and the baseline that
retrieval is measured against.

In-house rather than a dependency: it is a few lines of sparse algebra, and a baseline
must be exactly the textbook formula, with no stemming or stop words to flatter it.
"""

from __future__ import annotations

import os
import re
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from rag.index.store import Store

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Lower-cased Unicode word tokens; no stemming or stop words: this is the *plain* baseline."""
    return _WORD.findall(text.lower())


class BM25:
    """Okapi BM25 over a fixed list of texts, scored with one sparse product per query.

    ``score(d, q)`` sums, over the query's terms ``t``,
    ``idf(t) * tf (k1 + 1) / (tf + k1 (1 - b + b |d| / avgdl))`` with
    ``idf(t) = log(1 + (N - df + 0.5) / (df + 0.5))``. The weight of every (text, term)
    pair is computed once, so a query costs only the columns of its own terms.

    Example:
        >>> bm25 = BM25(["the cat sat", "a dog barked"])
        >>> bm25.top("dog", 1)[0][0]
        1
    """

    def __init__(self, texts: Iterable[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        # Compact buffers, not lists of Python ints: on 56,326 chunks of 10,000 articles
        # (7 million (text, term) pairs), reading and indexing them peaked 672 MiB above
        # the open index with lists, 384 MiB with these. ``texts`` is consumed once, so
        # the caller can stream them.
        terms, counts, distinct, lengths = array("i"), array("i"), array("i"), array("i")
        for text in texts:
            tokens = tokenize(text)
            tf = Counter(tokens)
            terms.extend(self._vocab.setdefault(term, len(self._vocab)) for term in tf)
            counts.extend(tf.values())
            distinct.append(len(tf))
            lengths.append(len(tokens))
        n_texts, n_terms = len(lengths), len(self._vocab)
        col_ids, per_text, doc_lengths = (
            np.frombuffer(a, np.int32) for a in (terms, distinct, lengths)
        )
        df = np.bincount(col_ids, minlength=n_terms)
        self.idf = np.log(1 + (n_texts - df + 0.5) / (df + 0.5))
        mean = doc_lengths.mean() if n_texts else 0.0
        norm = k1 * (1 - b + b * doc_lengths / (mean if mean > 0 else 1.0))
        # weight = idf * tf (k1 + 1) / (tf + norm), in place: each temporary is 8 bytes a pair
        weights = np.frombuffer(counts, np.int32).astype(float)
        denominator = np.repeat(norm, per_text)
        denominator += weights
        weights *= k1 + 1
        weights /= denominator
        del denominator
        weights *= self.idf[col_ids]
        # Rows arrive in order, so the pairs are already a row-compressed matrix; a query
        # reads just the columns of its terms, hence column-compressed.
        indptr = np.concatenate(([0], np.cumsum(per_text, dtype=np.int64)))
        rows = sparse.csr_matrix((weights, col_ids, indptr), shape=(n_texts, n_terms))
        self._weights = rows.tocsc()

    def __len__(self) -> int:
        return self._weights.shape[0]

    def save(self, path: Path, **extra: object) -> None:
        """Write the index (and ``extra`` arrays) to ``path`` (.npz), atomically."""
        w = self._weights
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as out:
            np.savez(
                out,
                data=w.data,
                indices=w.indices,
                indptr=w.indptr,
                shape=np.asarray(w.shape),
                idf=self.idf,
                # one string: an array of terms would pad every one to the longest
                terms=np.asarray("\n".join(self._vocab)),
                params=np.asarray([self.k1, self.b]),
                **extra,
            )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> tuple[BM25, dict[str, np.ndarray]]:
        """An index written by :meth:`save`, and the ``extra`` arrays saved with it."""
        with np.load(path) as saved:
            arrays = dict(saved)
        bm25 = cls.__new__(cls)
        bm25.k1, bm25.b = (float(x) for x in arrays.pop("params"))
        terms = str(arrays.pop("terms"))
        bm25._vocab = {term: i for i, term in enumerate(terms.split("\n"))} if terms else {}
        bm25.idf = arrays.pop("idf")
        parts = (arrays.pop("data"), arrays.pop("indices"), arrays.pop("indptr"))
        bm25._weights = sparse.csc_matrix(parts, shape=tuple(arrays.pop("shape")))
        return bm25, arrays

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every text; a term repeated in the query counts once per use."""
        terms = Counter(self._vocab[t] for t in tokenize(query) if t in self._vocab)
        if not terms:
            return np.zeros(len(self))
        columns = self._weights[:, list(terms)]
        return np.asarray(columns @ np.fromiter(terms.values(), dtype=float)).ravel()

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best ``(index, score)`` pairs, best first, ties by index.

        Texts sharing no term with the query (score 0) are left out: ranking them would
        only be the corpus order, and a baseline should not get hits by chance.
        """
        scores = self.scores(query)
        candidates = np.flatnonzero(scores > 0)
        if k <= 0 or not len(candidates):
            return []
        if len(candidates) > k:
            # Keep every text tied with the k-th best, so ties are broken by index below.
            kth = np.partition(scores[candidates], -k)[-k]
            candidates = candidates[scores[candidates] >= kth]
        order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
        return [(int(i), float(scores[i])) for i in order]


class LexicalIndex:
    """BM25 over every chunk of a store, rebuilt when the store's generation changes
    (an ingest by this process, the CLI, or another machine sharing a Chroma server).

    Example:
        >>> lexical = LexicalIndex(store)  # doctest: +SKIP
        >>> lexical.top("security guarantees", 5)  # [(chunk id, score), ...], best first
    """

    def __init__(self, store: Store, cache: Path | None = None) -> None:
        self.store = store
        self.cache = cache
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._bm25 = BM25([])
        self._ids: list[str] = []

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` chunks with the best BM25 score for ``query``, as ``(id, score)``."""
        bm25, ids = self._current()
        return [(ids[i], score) for i, score in bm25.top(query, k)]

    def refresh(self) -> None:
        """Bring the index in line with the store now, reading the saved one if it is
        current, so that no question waits for it (12 s to build at 10,000 articles)."""
        self._current()

    def _current(self) -> tuple[BM25, list[str]]:
        generation = self.store.generation()
        with self._lock:  # one rebuild at a time; the others wait for it
            if generation != self._generation:
                self._bm25, self._ids = self._cached(generation) or self._build(generation)
                self._generation = generation
            return self._bm25, self._ids

    def _cached(self, generation: str) -> tuple[BM25, list[str]] | None:
        """The index saved for ``generation``, if there is one (a restart reads it in a
        fraction of the time a build from the chunks takes)."""
        if self.cache is None or not self.cache.is_file():
            return None
        try:
            bm25, extra = BM25.load(self.cache)
        except (OSError, ValueError, KeyError):  # unreadable or of another version: rebuild
            return None
        if str(extra.get("generation")) != generation:
            return None
        return bm25, extra["ids"].tolist()

    def _build(self, generation: str) -> tuple[BM25, list[str]]:
        ids: list[str] = []

        def texts() -> Iterator[str]:  # a page at a time, never every text at once
            for chunk_id, text in self.store.texts():
                ids.append(chunk_id)
                yield text

        bm25 = BM25(texts())
        if self.cache is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            bm25.save(self.cache, ids=np.asarray(ids, dtype=str), generation=np.asarray(generation))
        return bm25, ids
