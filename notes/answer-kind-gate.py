"""Stop 36, offline: does the lexical abstention features' answer kind ("how many" wants a
number, "when" a date, "who" a name) add to the shipped cross-encoder's abstention score?
Fitted on Disfl-QA's dev questions (the training script's split, seed 0; 2,107 of 8,000
questions unanswerable in all), reported on its test questions, with no gold question used.

    PYTHONPATH=. .venv/bin/python notes/answer-kind-gate.py   # ~2 min

Each question's evidence is the sentence the cross-encoder ranks first in its paragraph;
the features are rag.reading.abstain's (cosines left out: they need the index).
"""

import random

import numpy as np

from evals import train_reader as tr
from evals.operating_point import choose
from rag.evaluation.metrics import abstention_curve, auc
from rag.index.embed import SentenceEmbeddings
from rag.index.precision import resolve
from rag.reading import crossencoder as ce
from rag.reading.abstain import FEATURES, features
from rag.reading.logistic import LogisticModel

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


def main() -> None:
    tr.PRECISION = resolve("auto", SentenceEmbeddings().probe)
    _, questions = tr.load_disfl(tr.bigbench_tasks()[tr.DISFL_QA], 0, random.Random(0))
    card = ce.Card.load()
    model = ce.torch_model()
    model.eval()
    data = {}
    for split in ("dev", "test"):
        qs = questions[split]
        scores = tr.question_scores(model, qs, card.temperature)
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
