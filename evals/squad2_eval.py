"""The reader on SQuAD 2.0 articles through the product path: each article indexed as one
document, every question asked with ``RAG.answer``, as a user would.

    .venv/bin/python evals/squad2_eval.py                  # test split, ~5 min on 2 cores
    .venv/bin/python evals/squad2_eval.py --split dev --choose   # the answer threshold

The articles and their split are the training script's (:func:`evals.reader.data.squad2_split`,
seed 0: 2 test, 2 dev, 9 train), so figures on ``test`` are on articles the reader never
read. Printed: adversarial unanswerables abstained, answerable questions answered citing a
gold answer (a cited sentence holds one of its answers), wrong abstentions, answer
precision (cited sentences holding a gold answer) and first sentence holding one, with
citations per answer. ``--choose`` also sweeps the abstention threshold over the
answers' scores and prints the highest one refusing at most 5% of answerable questions
(choose on dev, report on test). ``--reader-weights`` measures another reader (a
``evals/train_reader.py`` output: its .npz, the card beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.documents import Document

from evals.operating_point import MAX_WRONG_ABSTENTIONS, choose
from evals.reader.data import squad2_articles, squad2_split
from rag.config import Settings
from rag.evaluation.datasets import DATA_DIR
from rag.evaluation.metrics import abstention_curve, normalize
from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.reading.crossencoder import CARD, Card


def articles(split: str, seed: int = 0, folder: Path | None = None) -> list[dict]:
    found = squad2_articles(folder)
    where = squad2_split([a["title"] for a in found], seed)
    return [a for a in found if where[a["title"]] == split]


def documents(chosen: list[dict]) -> list[Document]:
    """Each article as one document: its paragraphs, a blank line between them."""
    return [
        Document(
            page_content="\n\n".join(p["context"] for p in a["paragraphs"]),
            metadata={"source": f"{a['title']}.txt"},
        )
        for a in chosen
    ]


def holds(quote: str, answers: list[str]) -> bool:
    text = normalize(quote)
    return any(normalize(a) and normalize(a) in text for a in answers)


def judged(answer: Answer, answers: list[str]) -> dict:
    """One answer's row: abstained, score, the cited sentences and which hold a gold answer."""
    hits = [holds(c.quote, answers) for c in answer.citations]
    quotes = [c.quote for c in answer.citations]
    return {"abstained": answer.abstained, "score": answer.score, "hits": hits, "quotes": quotes}


def figures(rows: list[dict]) -> dict:
    """The issue's figures over rows of :func:`judged` plus ``answerable``."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in answerable if not r["abstained"] and r["hits"]]

    def share(flags: list[bool]) -> float | None:
        return round(sum(flags) / len(flags), 4) if flags else None

    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "unanswerable_abstained": share([r["abstained"] for r in unanswerable]),
        "answered_citing_gold": share([not r["abstained"] and any(r["hits"]) for r in answerable]),
        "wrong_abstentions": share([r["abstained"] for r in answerable]),
        "answer_precision": share([h for r in answered for h in r["hits"]]),
        "first_sentence_gold": share([r["hits"][0] for r in answered]),
        "citations_per_answer": round(sum(len(r["hits"]) for r in answered) / len(answered), 2)
        if answered
        else None,
    }


def asked(chosen: list[dict], limit: int | None = None) -> list[tuple[dict, str]]:
    """The split's questions (with their article's title), the first ``limit`` of them."""
    return [(qa, a["title"]) for a in chosen for p in a["paragraphs"] for qa in p["qas"]][:limit]


def row_of(judgement: dict, qa: dict, title: str) -> dict:
    about = {"answerable": not qa["is_impossible"], "article": title, "question": qa["question"]}
    return judgement | about


def ask(
    rag: RAG, chosen: list[dict], limit: int | None = None, progress: bool = True
) -> list[dict]:
    rows = []
    questions = asked(chosen, limit)
    started = time.perf_counter()
    for n, (qa, title) in enumerate(questions, start=1):
        answer = rag.answer(qa["question"])
        rows.append(row_of(judged(answer, [x["text"] for x in qa["answers"]]), qa, title))
        if progress and n % 100 == 0:
            rate = n / (time.perf_counter() - started)
            print(f"{n}/{len(questions)} questions ({rate:.1f}/s)", file=sys.stderr, flush=True)
    return rows


def read_passages(
    rag: RAG, chosen: list[dict], weights: Path, n: int, threshold: float, limit: int | None = None
) -> list[dict]:
    """Rows as :func:`ask` makes them, answered by a passage reader over the ``n`` best
    retrieved passages of each question."""
    from evals.reader import passage
    from rag.index.embed import SentenceEmbeddings
    from rag.index.precision import resolve

    model = passage.load(weights)
    precision = resolve("auto", SentenceEmbeddings().probe)
    rows = []
    for qa, title in asked(chosen, limit):
        texts = [x.text for x in rag.retrieve(qa["question"])[:n]]
        read = passage.read(model, [(qa["question"], t) for t in texts], precision)
        answers = [x["text"] for x in qa["answers"]]
        quotes = [
            passage.answer_sentence(t, start) for t, (_, start, _) in zip(texts, read, strict=True)
        ]
        best = max(range(len(read)), key=lambda i: read[i][0])
        score = read[best][0]
        found = {"abstained": score < threshold, "score": score}
        # every chunk read: its probability, whether its span's sentence and the chunk
        # itself hold an answer (where reading through retrieval loses)
        chunks = {
            "chunk_scores": [r[0] for r in read],
            "chunk_hits": [holds(q, answers) for q in quotes],
            "chunk_holds": [holds(t, answers) for t in texts],
        }
        shown = {"hits": [chunks["chunk_hits"][best]], "quotes": [quotes[best]]}
        rows.append(row_of(found | shown | chunks, qa, title))
    return rows


def combined(passage_rows: list[dict], answer_rows: list[dict], more: int) -> list[dict]:
    """What an answer would be whose passage reader decides (abstain or not) and leads
    with its sentence, followed by up to ``more`` quotes of ``RAG.answer``'s own answer:
    rows of two runs on the same questions (``--rows``) put together, with no reading."""
    rows = []
    for p, a in zip(passage_rows, answer_rows, strict=True):
        if p["question"] != a["question"]:
            raise ValueError("the two sets of rows are not of the same questions in one order")
        quotes, hits = list(p["quotes"]), list(p["hits"])
        for quote, hit in zip(a["quotes"], a["hits"], strict=True):
            if len(quotes) < 1 + more and quote not in quotes:
                quotes.append(quote)
                hits.append(hit)
        shown = {"quotes": [], "hits": []} if p["abstained"] else {"quotes": quotes, "hits": hits}
        rows.append(p | shown)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["train", "dev", "test"], default="test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, help="the training-data folder")
    parser.add_argument("--choose", action="store_true", help="sweep the answer threshold")
    parser.add_argument("--min-confidence", type=float, help="abstention threshold to use")
    parser.add_argument("--rows", type=Path, help="write every question's row (JSON lines)")
    parser.add_argument("--limit", type=int, help="ask only the first N questions (a smoke run)")
    parser.add_argument(
        "--write-card", action="store_true", help="record the figures in the reader's card"
    )
    parser.add_argument("--index-dir", type=Path, help="default: evals/data/index/squad2-SPLIT")
    parser.add_argument("--reader-weights", type=Path, help="another reader (RAG_READER_WEIGHTS)")
    parser.add_argument("--passage-weights", type=Path, help="answer with a passage reader")
    parser.add_argument("--passages", type=int, default=3, help="passages it reads")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs=2,
        metavar=("PASSAGE_ROWS", "ANSWER_ROWS"),
        help="read nothing: the figures of rows of both kinds put together (:func:`combined`)",
    )
    parser.add_argument("--more", type=int, default=1, help="RAG.answer quotes kept (--combine)")
    args = parser.parse_args(argv)

    if args.combine:
        first, second = ([json.loads(x) for x in f.read_text().splitlines()] for f in args.combine)
        print(json.dumps(figures(combined(first, second, args.more)), indent=2))
        return 0
    if args.write_card and (args.passage_weights or args.reader_weights):
        parser.error("--write-card records the shipped reader's figures: not another reader's")
    chosen = articles(args.split, args.seed, args.data)
    index_dir = args.index_dir or DATA_DIR / "index" / f"squad2-{args.split}"
    settings = Settings(
        index_dir=index_dir,
        min_confidence=args.min_confidence,
        reader_weights=args.reader_weights,
    )
    rag = RAG(settings)
    rag.ingest(documents(chosen), prune=True, progress=False)
    if args.passage_weights:
        threshold = 0.5 if args.min_confidence is None else args.min_confidence
        rows = read_passages(
            rag, chosen, args.passage_weights, args.passages, threshold, args.limit
        )
    else:
        rows = ask(rag, chosen, args.limit)
    result = {"split": args.split, "articles": [a["title"] for a in chosen]} | figures(rows)
    print(json.dumps(result, indent=2))
    if args.write_card:
        card = Card.load()
        figures_ = dict(card.figures or {}) | {f"squad2_{args.split}_answers": result}
        CARD.write_text(json.dumps(asdict(replace(card, figures=figures_)), indent=2) + "\n")
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if args.choose:
        scores = [r["score"] for r in rows]
        flags = [r["answerable"] for r in rows]
        best = choose(scores, flags)  # the gold set's rule (evals/operating_point.py)
        (at,) = abstention_curve(scores, flags, [best])
        print(f"threshold refusing at most {MAX_WRONG_ABSTENTIONS:.0%} of answerable: {best}")
        print(json.dumps(at))
    return 0


if __name__ == "__main__":
    sys.exit(main())
