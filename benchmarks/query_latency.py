"""Warm ``retrieve()`` / ``answer()`` latency and cold start on an index that already
exists, with the current ``RAG_*`` settings: to compare settings (``RAG_RETRIEVAL``,
``RAG_ABSTENTION``, ...) on a large index without indexing it again for hours.

    .venv/bin/python benchmarks/scale.py --sizes 10000 --pipelines rag --keep /tmp/s
    RAG_RETRIEVAL=dense  .venv/bin/python benchmarks/query_latency.py --index /tmp/s/rag/index
    RAG_RETRIEVAL=hybrid .venv/bin/python benchmarks/query_latency.py --index /tmp/s/rag/index

The questions are scale.py's for that size; the collection is scale.py's ("bench").
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from answer_latency import app_cold_start
from scale import documents, latencies, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index scale.py built")
    parser.add_argument("--size", default="10000", help="the size it was built for")
    parser.add_argument("--collection", default="bench")
    args = parser.parse_args()
    from rag import RAG

    asked = queries(documents(args.size))
    with tempfile.TemporaryDirectory() as empty:
        # the app first, while this process holds nothing: its cold start includes
        # loading the BM25 index of hybrid retrieval
        cold = app_cold_start(
            str(args.index), question=asked[0], collection=args.collection, corpus_dir=empty
        )
        rag = RAG(index_dir=args.index, corpus_dir=empty, collection=args.collection)
        start = time.perf_counter()
        rag.warm_index()
        warm_index = time.perf_counter() - start
        retrieve = latencies(lambda q: rag.retrieve(q), asked)
        answer = latencies(rag.answer, asked)
    s = rag.settings
    print(f"{rag.count():,} chunks; RAG_RETRIEVAL={s.retrieval}, RAG_ABSTENTION={s.abstention}\n")
    print("| Measure | Value |\n| --- | ---: |")
    print(f"| `python app.py` to first answer via /chat | {cold:.1f} s |")
    print(f"| `RAG.warm_index()` (BM25 read or built) | {warm_index:.1f} s |")
    print(
        f"| warm `retrieve()` p50 / p95 | {retrieve['p50_ms']:.1f} / {retrieve['p95_ms']:.1f} ms |"
    )
    print(f"| warm `answer()` p50 / p95 | {answer['p50_ms']:.1f} / {answer['p95_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
