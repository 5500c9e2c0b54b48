"""What an answer costs beside LangChain's bare search, and whether a cheaper reader
decides the same: issue 40's figures, in one run on one machine.

    .venv/bin/python benchmarks/answer_speed.py [--precisions fp32,auto,int8] [--rounds 2]
        [--size squad400] [--weights other/crossencoder.npz,...]

Three tables:

1. **Latency** on the first 400 SQuAD v1.1 dev paragraphs (``scale.py``'s ``squad400``
   and its 50 queries): LangChain's ``similarity_search`` (HuggingFaceEmbeddings +
   langchain_chroma, the common setting), rag's ``retrieve()``, and ``answer()`` with the
   reading model in each ``RAG_READER_PRECISION`` asked for. Each is timed over all
   queries in a block, the blocks taken in turn for ``--rounds`` rounds (one runtime's
   idle threads slow the next one's first calls; blocks keep that out of the others'
   figures). p50 and p95, and each over LangChain's.
2. **Decisions** on the gold set (the default corpus, 73 questions): for each precision,
   the share of questions answered or abstained alike and, where answered, citing the
   same sentences as fp32; the largest difference in the answer's score; and the gold
   figures ``rag eval`` reports (gold coverage, contains answer, abstention recall,
   wrong abstentions). ``--weights`` puts other readers (a smaller one distilled from the
   shipped one, say) beside them, in the first precision, judged against the first row.
3. **check()** on a 20-sentence text (sentences of the default corpus, every third one's
   number changed): median seconds of 3 checks, and verdicts alike with fp32's.

The answer cache (``RAG_ANSWER_CACHE``) is off throughout: every figure here is a
question read.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bm25_query import timings
from scale import documents, langchain_ingest, langchain_pipeline, queries

from rag import RAG, Answer
from rag.config import Settings
from rag.evaluation.datasets import load_dataset
from rag.evaluation.evaluate import run

FIGURES = ("gold_coverage", "contains_answer", "abstention_recall", "wrong_abstention_rate")


def block(fn: Callable[[str], object], asked: list[str]) -> list[float]:
    """Milliseconds of each call of ``fn`` over ``asked``, after a warm-up call."""
    fn(asked[0])
    return timings(fn, asked)


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[max(0, int(share * len(values)) - 1)]


def readers(settings: Settings, precisions: list[str], weights: list[Path] = ()) -> dict[str, RAG]:
    """One RAG per precision over the same index, then one per other reader's ``weights``
    (in the first precision), each reading model settled."""
    asked = [(p, None) for p in precisions] + [(precisions[0], w) for w in weights]
    made = {}
    for precision, reader in asked:
        update = {"reader_precision": precision, "answer_cache": 0, "reader_weights": reader}
        rag = RAG(settings.model_copy(update=update))
        name = f"answer() {precision}->{rag.crossencoder.settled()}"
        made[name + (f" {reader.parent.name}/{reader.name}" if reader else "")] = rag
    return made


def latency_table(
    precisions: list[str], rounds: int, size: str = "squad400", weights: list[Path] = ()
) -> str:
    docs = documents(size)
    asked = queries(docs)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = langchain_ingest(docs, folder / "langchain", *langchain_pipeline())
        (folder / "empty").mkdir()
        settings = Settings(
            index_dir=folder / "rag", corpus_dir=folder / "empty", collection="bench"
        )
        RAG(settings).ingest(docs, progress=False)
        rags = readers(settings, precisions, weights)
        calls: dict[str, Callable[[str], object]] = {
            "LangChain similarity_search(k=5)": lambda q: baseline.similarity_search(q, k=5),
            "rag retrieve()": next(iter(rags.values())).retrieve,
            **{name: rag.answer for name, rag in rags.items()},
        }
        times: dict[str, list[float]] = {name: [] for name in calls}
        for n in range(rounds):
            for name in list(calls)[:: 1 if n % 2 == 0 else -1]:
                times[name] += block(calls[name], asked)
    base = times["LangChain similarity_search(k=5)"]
    rows = [
        "| Call | p50 (ms) | p95 (ms) | p50 / LangChain | p95 / LangChain |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, ms in times.items():
        p50, p95 = statistics.median(ms), percentile(ms, 0.95)
        rows.append(
            f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / statistics.median(base):.2f} "
            f"| {p95 / percentile(base, 0.95):.2f} |"
        )
    head = f"Latency: {size}, {len(docs)} documents, {len(asked)} queries x {rounds} rounds"
    return head + "\n\n" + "\n".join(rows)


def decisions(answer: Answer) -> tuple:
    """What the reader decided: abstain, or the sentences it cites (source and offsets)."""
    return answer.abstained, tuple((c.source, c.start, c.end) for c in answer.citations)


def check_text(settings: Settings) -> str:
    """20 sentences of the default corpus, every third one's first number changed."""
    from rag.documents.sentences import sentence_spans

    text = next(iter(sorted(settings.corpus_dir.glob("*.txt")))).read_text(encoding="utf-8")
    sentences = [text[s:e] for s, e in sentence_spans(text) if re.search(r"\d", text[s:e])]
    sentences += [text[s:e] for s, e in sentence_spans(text)]
    picked = list(dict.fromkeys(sentences))[:20]
    return " ".join(
        re.sub(r"\d+", lambda m: str(int(m.group()) + 7), s, count=1) if i % 3 == 2 else s
        for i, s in enumerate(picked)
    )


def decision_tables(precisions: list[str], weights: list[Path] = ()) -> str:
    dataset = load_dataset("default")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index")
        rags = readers(settings, precisions, weights)
        answers, figures, checks, check_s = {}, {}, {}, {}
        text = check_text(settings)
        for name, rag in rags.items():
            figures[name] = run(rag, dataset, progress=False).metrics()
            answers[name] = [rag.answer(q.question) for q in dataset.questions]
            spent = []
            for _ in range(3):
                started = time.perf_counter()
                checks[name] = [s.verdict for s in rag.check(text).sentences]
                spent.append(time.perf_counter() - started)
            check_s[name] = statistics.median(spent)
    first = next(iter(rags))
    rows = [
        f"Decisions: gold set, {len(dataset.questions)} questions; check(): 20 sentences",
        "",
        "| Reader | same decisions | same answer/abstain | largest score change | "
        + " | ".join(FIGURES)
        + " | check() s | same verdicts |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in FIGURES) + " | ---: | ---: |",
    ]
    for name in rags:
        pairs = list(zip(answers[name], answers[first], strict=True))
        same = sum(decisions(a) == decisions(b) for a, b in pairs) / len(pairs)
        alike = sum(a.abstained == b.abstained for a, b in pairs) / len(pairs)
        moved = max(abs((a.score or 0.0) - (b.score or 0.0)) for a, b in pairs)
        verdicts = sum(a == b for a, b in zip(checks[name], checks[first], strict=True))
        shown = " | ".join(f"{figures[name].get(f, float('nan')):.3f}" for f in FIGURES)
        rows.append(
            f"| {name} | {same:.3f} | {alike:.3f} | {moved:.3f} | {shown} "
            f"| {check_s[name]:.2f} | {verdicts}/{len(checks[first])} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precisions", default="fp32,auto,int8", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", default="squad400", help="squad400, default or N articles")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--weights",
        default="",
        help="comma-separated other readers (evals/train_reader.py outputs) to put beside",
    )
    args = parser.parse_args()
    precisions = args.precisions.split(",")
    weights = [Path(w) for w in args.weights.split(",") if w]
    if not args.skip_latency:
        print(latency_table(precisions, args.rounds, args.size, weights), end="\n\n", flush=True)
    print(decision_tables(precisions, weights))


if __name__ == "__main__":
    main()
