"""Choose the reading model's answer threshold on the default gold set's dev half and
write it into rag/reading/crossencoder.json (``answer_threshold``).

    .venv/bin/python evals/operating_point.py          # ~30 s
    .venv/bin/python evals/operating_point.py --reader-weights runs/x/crossencoder.npz

With ``--reader-weights``, for another reader (an ``evals/train_reader.py`` output): its
own card, beside its weights, gets the threshold. A distilled reader keeps its teacher's
threshold, which is worth re-choosing here: a smaller model errs differently.

The rule is the training script's, on questions like the ones users ask here rather than
SQuAD 2.0's: the highest threshold that refuses at most 5% of the dev half's answerable
questions, so it abstains on as many unanswerable ones as that allows. The test half is
only reported, never looked at to choose. The threshold training chose on SQuAD 2.0 dev stays
in the card's figures (``answer_threshold_from_training``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.evaluation.evaluate import evaluate
from rag.evaluation.metrics import abstention_curve
from rag.reading.crossencoder import CARD, Card

MAX_WRONG_ABSTENTIONS = 0.05
GRID = [round(t, 2) for t in np.arange(0.01, 1.0, 0.01)]


def choose(scores: list[float | None], answerable: list[bool]) -> float:
    rows = abstention_curve(scores, answerable, GRID)
    allowed = [
        r["threshold"] for r in rows if (r["wrong_abstention_rate"] or 0) <= MAX_WRONG_ABSTENTIONS
    ]
    return max(allowed) if allowed else GRID[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reader-weights", type=Path, help="another reader's .npz")
    parser.add_argument("--out", type=Path, help="the report's folder (default: evals/reports)")
    args = parser.parse_args(argv)
    weights = args.reader_weights
    card_path = CARD if weights is None else weights.with_suffix(".json")
    card = Card.load(card_path)
    settings = Settings(abstention="crossencoder", reader_weights=weights)
    run, _ = evaluate("default", settings=settings, out_dir=args.out, progress=False)
    results = {s: [r for r in run.results if r.split == s] for s in ("dev", "test")}
    chosen = choose([r.score for r in results["dev"]], [r.answerable for r in results["dev"]])
    figures = dict(card.figures or {})
    figures.setdefault("answer_threshold_from_training", card.answer_threshold)
    for split, rows in results.items():
        (at,) = abstention_curve([r.score for r in rows], [r.answerable for r in rows], [chosen])
        figures[f"gold_{split}_at_answer_threshold"] = at
        print(f"{split}: {json.dumps(at)}")
    updated = replace(card, answer_threshold=chosen, figures=figures)
    card_path.write_text(json.dumps(asdict(updated), indent=2) + "\n")
    print(f"answer_threshold {card.answer_threshold} -> {chosen} (written to {card_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
