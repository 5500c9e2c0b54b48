"""Held-out figures and operating points of a trained reader, as its card records them:
the temperature that calibrates it, the answer threshold (abstain below it), the support
and contradiction thresholds of claims, three-way figures of pairs and question-level
figures (does the best sentence answer; are unanswerable questions abstained on)."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from evals.reader.data import Pair, Question
from rag.evaluation.metrics import auc
from rag.index.precision import Precision, autocast
from rag.reading import crossencoder as ce

MAX_WRONG_ABSTENTIONS = 0.05
"""Answerable dev questions the answer threshold may refuse at most."""


def logits_of(
    model, firsts: list[str], seconds: list[str], contexts: list[str], precision: Precision = "fp32"
) -> np.ndarray:
    run = ce._torch_runner(model)
    encoded = ce.pairs_ids(firsts, seconds, contexts)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    out = np.zeros((len(encoded), len(ce.LABELS)), dtype=np.float32)
    for n in range(0, len(order), 64):
        rows = order[n : n + 64]
        with autocast(precision):
            out[rows] = run(ce.batch_arrays([encoded[i] for i in rows]))
    return out


def pair_logits(model, pairs: list[Pair], precision: Precision = "fp32") -> np.ndarray:
    return logits_of(
        model,
        [p.first for p in pairs],
        [p.second for p in pairs],
        [p.context for p in pairs],
        precision,
    )


def question_scores(
    model, questions: list[Question], temperature: float, precision: Precision = "fp32"
) -> list[np.ndarray]:
    """P(supports) of every sentence of each question's paragraph."""
    flat = [
        (q.question, s, c) for q in questions for s, c in zip(q.sentences, q.contexts, strict=True)
    ]
    if not flat:
        return []
    logits = logits_of(model, *map(list, zip(*flat, strict=True)), precision)
    probs = ce.softmax(logits / temperature)[:, ce.SUPPORTS]
    out, n = [], 0
    for q in questions:
        out.append(probs[n : n + len(q.sentences)])
        n += len(q.sentences)
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising held-out log loss (a grid: one number, no optimiser)."""
    best, best_loss = 1.0, math.inf
    for t in np.arange(0.5, 3.01, 0.05):
        p = ce.softmax(logits / t)
        loss = -np.log(p[np.arange(len(labels)), labels] + 1e-12).mean()
        if loss < best_loss:
            best, best_loss = float(round(t, 2)), loss
    return best


def calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of the top class (equal-width bins)."""
    conf, pred = probs.max(axis=1), probs.argmax(axis=1)
    right = pred == labels
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for lo, hi in pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            error += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(error)


def abstention_figures(scores: list[np.ndarray], questions: list[Question], t: float) -> dict:
    best = np.array([s.max() if len(s) else 0.0 for s in scores])
    answerable = np.array([any(q.gold) for q in questions])
    abstain = best < t
    top_right = [
        q.gold[int(np.argmax(s))] for s, q in zip(scores, questions, strict=True) if any(q.gold)
    ]
    return {
        "questions": len(questions),
        "unanswerable": int((~answerable).sum()),
        "auc": round(auc(best, answerable), 4) if (~answerable).any() else None,
        "top_sentence_answers": round(float(np.mean(top_right)), 4) if top_right else None,
        "abstention_recall": round(float(abstain[~answerable].mean()), 4)
        if (~answerable).any()
        else None,
        "abstention_precision": round(float((~answerable[abstain]).mean()), 4)
        if abstain.any()
        else None,
        "wrong_abstentions": round(float(abstain[answerable].mean()), 4),
    }


def answer_threshold(scores: list[np.ndarray], questions: list[Question]) -> float:
    """The highest threshold refusing at most 5% of answerable dev questions."""
    best = np.array([s.max() if len(s) else 0.0 for s in scores])
    answerable = np.array([any(q.gold) for q in questions])
    ok = [
        t
        for t in np.arange(0.01, 1.0, 0.01)
        if (best[answerable] < t).mean() <= MAX_WRONG_ABSTENTIONS
    ]
    return float(round(max(ok), 2)) if ok else 0.01


def verdict_thresholds(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Support and contradiction thresholds with the best 3-way accuracy on dev (a
    pair is supported, else contradicted, else neutral)."""
    grid = np.arange(0.3, 0.95, 0.05)
    best = (0.0, 0.5, 0.5)
    for s in grid:
        for c in grid:
            pred = np.where(
                probs[:, ce.SUPPORTS] >= s,
                ce.SUPPORTS,
                np.where(probs[:, ce.CONTRADICTS] >= c, ce.CONTRADICTS, ce.NEUTRAL),
            )
            acc = float((pred == labels).mean())
            if acc > best[0]:
                best = (acc, float(round(s, 2)), float(round(c, 2)))
    return best[1], best[2]


def three_way(probs: np.ndarray, labels: np.ndarray, s: float, c: float) -> dict:
    pred = np.where(
        probs[:, ce.SUPPORTS] >= s,
        ce.SUPPORTS,
        np.where(probs[:, ce.CONTRADICTS] >= c, ce.CONTRADICTS, ce.NEUTRAL),
    )
    per = {
        ce.LABELS[k]: round(float((pred[labels == k] == k).mean()), 4)
        for k in range(3)
        if (labels == k).any()
    }
    return {
        "pairs": len(labels),
        "accuracy": round(float((pred == labels).mean()), 4),
        "argmax_accuracy": round(float((probs.argmax(axis=1) == labels).mean()), 4),
        "recall_by_label": per,
    }


def agreement(probs: np.ndarray, wanted: np.ndarray, answer_threshold: float) -> dict:
    """How closely a student reads as its teacher: the pairs both put on the same side
    of the answer threshold, and the largest and median gaps in P(supports)."""
    mine, theirs = probs[:, ce.SUPPORTS], wanted[:, ce.SUPPORTS]
    gap = np.abs(mine - theirs)
    return {
        "same_side_of_answer_threshold": round(
            float(((mine >= answer_threshold) == (theirs >= answer_threshold)).mean()), 4
        ),
        "largest_gap": round(float(gap.max()), 4),
        "median_gap": round(float(np.median(gap)), 4),
    }
