"""Experiment (stop 36, offline): does the lexical abstention features' answer kind ("how
many" wants a number, "when" a date, "who" a name) add to the shipped cross-encoder's
abstention score? Fitted on Disfl-QA's dev questions (the training script's split, seed
0), reported on its test questions, with no gold question used.

    .venv/bin/python evals/experiments/answer_kind_gate.py --bigbench FOLDER   # ~2 min

Each question's evidence is the sentence the cross-encoder ranks first in its paragraph;
the features are rag.reading.abstain's (cosines left out: they need the index).
Disfl-QA is read from bigbench 1.0.0's task files (``--bigbench``, as
``evals/train_reader.py`` takes it; default: evals/data's copy).

What it measured (figures in `notes/stop-36-note.md`, "The answer kind as a gate"): the
cross-encoder alone reached a test AUC of 0.594, with the lexical features 0.585, so no
answer-kind gate ships. Moved here from `notes/answer-kind-gate.py` (issue 39), its
imports brought onto the training package `evals/reader` (loaders and figures) that
replaced the functions it called in `evals/train_reader.py`.
"""

import argparse
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from evals.operating_point import choose  # noqa: E402
from evals.reader import bigbench  # noqa: E402
from evals.reader import figures as fig  # noqa: E402
from rag.evaluation.metrics import abstention_curve, auc  # noqa: E402
from rag.index.embed import SentenceEmbeddings  # noqa: E402
from rag.index.precision import resolve  # noqa: E402
from rag.reading import crossencoder as ce  # noqa: E402
from rag.reading.abstain import FEATURES, features  # noqa: E402
from rag.reading.logistic import LogisticModel  # noqa: E402

LEXICAL = ("answer_coverage", "passage_coverage", "specific_missing", "type_found", "type_missing")
NAMES = ("ce_logit", *LEXICAL)


def rows(questions, scores) -> np.ndarray:
    out = []
    for q, s in zip(questions, scores, strict=True):
        best = int(np.argmax(s))
        p = float(np.clip(s[best], 1e-4, 1 - 1e-4))
        paragraph = " ".join(q.sentences)
        f = features(q.question, [q.sentences[best]], paragraph, [paragraph], 0.0, 0.0)
        lexical = [f[FEATURES.index(name)] for name in LEXICAL]
        out.append([np.log(p / (1 - p)), *lexical])
    return np.array(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bigbench.bigbench_option(parser)
    args = parser.parse_args(argv)
    tasks = bigbench.bigbench_tasks(args.bigbench)
    if tasks is None:
        raise SystemExit("this experiment reads Disfl-QA: pass --bigbench FOLDER")
    precision = resolve("auto", SentenceEmbeddings().probe)
    _, questions = bigbench.load_disfl(tasks[bigbench.DISFL_QA], 0, random.Random(0))
    card = ce.Card.load()
    model = ce.torch_model()
    model.eval()
    data = {}
    for split in ("dev", "test"):
        qs = questions[split]
        scores = fig.question_scores(model, qs, card.temperature, precision)
        data[split] = (rows(qs, scores), np.array([any(q.gold) for q in qs]))
        print(f"{split}: {len(qs)} questions, {(~data[split][1]).sum()} unanswerable")
    x, y = data["dev"]
    for name, cols in (("cross-encoder alone", [0]), ("+ lexical", list(range(len(NAMES))))):
        gate = type(f"G{len(cols)}", (LogisticModel,), {"NAMES": tuple(NAMES[c] for c in cols)})
        fitted = gate.fit(x[:, cols], y.astype(float))
        dev_p = fitted.probability(x[:, cols])
        t = choose(dev_p.tolist(), y.tolist())  # the product's rule: <= 5% wrong on dev
        xt, yt = data["test"]
        test_p = fitted.probability(xt[:, cols])
        (at,) = abstention_curve(test_p.tolist(), yt.tolist(), [t])
        print(
            f"{name}: auc dev {auc(dev_p, y):.3f} test {auc(test_p, yt):.3f}; at dev threshold"
            f" {t:.2f}, test abstained {at['abstention_recall']:.3f},"
            f" wrong {at['wrong_abstention_rate']:.3f}"
        )
        print("  weights", dict(zip(fitted.features, np.round(fitted.weights, 3), strict=True)))


if __name__ == "__main__":
    main()
