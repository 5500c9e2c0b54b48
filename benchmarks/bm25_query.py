"""Query cost of the in-house BM25 baseline, against scoring every text densely.

    .venv/bin/python benchmarks/bm25_query.py

The eval suite ranks every question with BM25 over all chunks of a dataset (all 2,067
SQuAD paragraphs, thousands of HaluEval passages), so a query must stay cheap as the
corpus grows. Prints, per corpus size, the median and p95 time of ``BM25.top`` and of a
dense baseline (the full term-weight matrix times the query vector) on the same texts.
"""

from __future__ import annotations

import random
import statistics
import time

import numpy as np

from rag.index.bm25 import BM25

SIZES = (1_000, 10_000)  # the dense baseline holds texts x 5,000 floats
QUERIES = 50


def p95(times: list[float]) -> float:
    return sorted(times)[int(0.95 * len(times)) - 1]


def timings(run, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    print("| Texts | BM25.top p50 | p95 | dense p50 | p95 | speed-up (p50) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in SIZES:
        bm25 = BM25([" ".join(rng.choices(words, k=30)) for _ in range(size)])
        queries = [" ".join(rng.choices(words, k=10)) for _ in range(QUERIES)]
        dense = bm25._weights.toarray()
        vocab = bm25._vocab

        def dense_top(query: str, dense=dense, vocab=vocab) -> np.ndarray:
            q = np.zeros(dense.shape[1])
            for term in query.split():
                if term in vocab:
                    q[vocab[term]] += 1
            return np.argsort(-(dense @ q), kind="stable")[:10]

        ours = timings(lambda q, bm25=bm25: bm25.top(q, 10), queries)
        base = timings(dense_top, queries)
        print(
            f"| {size:,} | {statistics.median(ours):.2f} ms | {p95(ours):.2f} ms "
            f"| {statistics.median(base):.2f} ms | {p95(base):.2f} ms "
            f"| {statistics.median(base) / statistics.median(ours):.0f}x |"
        )


if __name__ == "__main__":
    main()
