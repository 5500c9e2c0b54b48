"""Warm ``answer()`` latency of the readers side by side: ``cosine`` (similarity alone, the
baseline), ``ranker`` (the sentence ranker with cosine abstention, the default until the
reading model), ``default`` (the ranker reads, the reading model abstains) and
``crossencoder`` (the reading model reads and abstains), asked the same questions in
turn, in one process, on the default corpus and on all SQuAD v1.1 dev paragraphs (the
index ``rag eval`` keeps).

    .venv/bin/rag eval --dataset squad --limit 500      # builds evals/data/index/squad once
    .venv/bin/python benchmarks/reader_latency.py

Prints the median and p95 of each reader and the ranker's median over the cosine reader's.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from answer_latency import QUESTIONS

from rag import RAG
from rag.config import Settings
from rag.evaluation.datasets import DATA_DIR, load_dataset

READERS = {
    "cosine": {"reader": "cosine", "abstention": "cosine"},
    "ranker": {"reader": "ranker", "abstention": "cosine"},
    "default": {"reader": "ranker", "abstention": "crossencoder"},
    "crossencoder": {"reader": "crossencoder", "abstention": "crossencoder"},
}


def timed(rags: dict[str, RAG], questions: list[str]) -> dict[str, list[float]]:
    """Milliseconds per answer for each reader, the readers taking turns per question."""
    for rag in rags.values():
        rag.answer(questions[0])  # warm-up: model, index, caches
    times: dict[str, list[float]] = {name: [] for name in rags}
    for q in questions:
        for name, rag in rags.items():
            start = time.perf_counter()
            rag.answer(q)
            times[name].append((time.perf_counter() - start) * 1000)
    return times


def readers(settings: Settings) -> dict[str, RAG]:
    return {name: RAG(settings.model_copy(update=update)) for name, update in READERS.items()}


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index")
        RAG(settings).ingest(progress=False)
        rows.append(("default corpus", len(QUESTIONS), timed(readers(settings), QUESTIONS)))
    squad = DATA_DIR / "index" / "squad"
    if squad.is_dir():
        questions = [q.question for q in load_dataset("squad", 100).questions]
        rows.append(
            (
                "SQuAD dev, 2,067 paragraphs",
                100,
                timed(readers(Settings(index_dir=squad)), questions),
            )
        )
    else:
        print(f"(no {squad}: run `rag eval --dataset squad` once for the SQuAD rows)")
    print("| Corpus | Questions | Reader | answer() median | p95 | median × cosine |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for corpus, n, times in rows:
        base = statistics.median(times["cosine"])
        for name, ms in times.items():
            p95 = sorted(ms)[int(0.95 * len(ms)) - 1]
            median = statistics.median(ms)
            ratio = median / base
            print(f"| {corpus} | {n} | {name} | {median:.0f} ms | {p95:.0f} ms | {ratio:.2f} |")


if __name__ == "__main__":
    main()
