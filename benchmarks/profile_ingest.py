"""Where a rag ingest's time goes: its steps wrapped, their seconds summed.

    .venv/bin/python benchmarks/profile_ingest.py 1000     # sizes as benchmarks/scale.py takes them

Prints the ingest report, the total and each step's seconds and share (encoding, Chroma
upserts, sentence spans, splitting, BM25, ...), largest first. What it measured, at 1,000
articles: ``sentence_spans`` at 15.1 s of 134.9 before its fix and encoding at 78% of the
115.2 s after (`docs/performance.md`, "Side by side with LangChain"). Moved here from
`notes/profile_ingest.py` (issue 39).
"""

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO)]

from scale import documents  # noqa: E402

from rag import RAG  # noqa: E402
from rag.collection import Collection  # noqa: E402
from rag.documents import ingest  # noqa: E402
from rag.index import store, sync  # noqa: E402
from rag.index.embed import SentenceEmbeddings  # noqa: E402

spent: dict[str, float] = defaultdict(float)


def wrap(owner, name: str, label: str) -> None:
    fn = getattr(owner, name)

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started

    setattr(owner, name, timed)


def main() -> None:
    wrap(SentenceEmbeddings, "encode_with_spans", "encode (model + spans)")
    wrap(store, "pack_vectors", "pack sentence vectors")
    wrap(store, "sentence_spans", "sentence spans")
    wrap(store, "release_freed_memory", "malloc_trim")
    wrap(ingest.Splitter, "split", "split")
    wrap(sync, "load", "read documents")
    wrap(Collection, "warm_index", "BM25 build")
    add = store.Store.add

    def timed_add(self, chunks, progress=None):
        wrap(self.vectors._collection, "upsert", "chroma upsert")
        return add(self, chunks, progress)

    store.Store.add = timed_add
    docs = documents(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        rag = RAG(index_dir=f"{tmp}/i", corpus_dir=f"{tmp}/e", collection="bench")
        started = time.perf_counter()
        report = rag.ingest(docs, progress=False)
        total = time.perf_counter() - started
    print(report.summary)
    print(f"total {total:.1f} s")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:28s} {seconds:7.1f} s  {seconds / total:6.1%}")


if __name__ == "__main__":
    main()
