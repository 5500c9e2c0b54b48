"""What saved conversations and pinned versions cost: the SQLite work an ingest adds
(recording each document's version and text) and what the chat does per answer (save
it) and per reopening (list, load the turns, check each citation's version).

    .venv/bin/python benchmarks/history.py                 # 2,000 documents, 20 turns
    .venv/bin/python benchmarks/history.py --documents 10000 --turns 50

The documents are synthetic (``--chars`` characters each, default 4,000, about a news
article) and the answers real ones of the default corpus, so their size is what the
chat saves. Figures are medians of ``--runs`` runs on a fresh file each time; the
version check reads the index too (one source's chunks and its text).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rag import RAG
from rag.history import History
from rag.index.versions import Versions

QUESTIONS = [
    "What would Ukraine receive in exchange for ceding territory?",
    "Was Ukraine involved in preparing the framework?",
    "How did European diplomats describe the proposal?",
]


def timed(work, *args) -> float:
    """Seconds ``work(*args)`` took."""
    started = time.perf_counter()
    work(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=4000)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    docs = [
        (f"doc-{i:05d}.txt", f"v{i}", (f"Document {i} says something. " * 200)[: args.chars])
        for i in range(args.documents)
    ]
    first, again, changed = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            versions = Versions(Path(folder) / "history.db", keep=3)
            first.append(timed(versions.record, "bench", docs))
            again.append(timed(versions.record, "bench", docs))
            edited = [(s, v + "-2", t + " Edited.") for s, v, t in docs]
            changed.append(timed(versions.record, "bench", edited))

    with tempfile.TemporaryDirectory() as folder:
        rag = RAG(index_dir=Path(folder) / "index")
        rag.ingest(progress=False)
        answers = [rag.answer(QUESTIONS[i % len(QUESTIONS)]) for i in range(args.turns)]
        history = History(Path(folder) / "conversations.db")
        saves, lists, loads, checks = [], [], [], []
        for _ in range(args.runs):
            talk = history.start("ann", "rag", QUESTIONS[0])
            saves += [timed(history.add, talk.id, "ann", a) for a in answers]
            lists.append(timed(history.conversations, "ann"))
            loads.append(timed(history.turns, talk.id, "ann"))
            checks += [timed(rag.cited_version, c) for a in answers for c in a.citations]

    ms = 1000
    n = args.documents
    print(f"versions of {n:,} documents of {args.chars:,} characters (median of {args.runs}):")
    print(f"  first ingest records them        {statistics.median(first):8.3f} s")
    print(f"  an unchanged re-ingest           {statistics.median(again):8.3f} s")
    print(f"  every document changed           {statistics.median(changed):8.3f} s")
    print(f"a conversation of {args.turns} answers:")
    print(f"  save one answer                  {statistics.median(saves) * ms:8.2f} ms")
    print(f"  list the user's conversations    {statistics.median(lists) * ms:8.2f} ms")
    print(f"  {f'load its {args.turns} turns':<32} {statistics.median(loads) * ms:8.2f} ms")
    print(f"  check one citation's version     {statistics.median(checks) * ms:8.2f} ms")


if __name__ == "__main__":
    main()
