"""Experiment (stop 35, offline): does the cross-encoder's abstention score combined with
the lexical abstention model's confidence separate the gold set's answerable from
unanswerable questions better than either alone? Prints AUC per half and the test half's
figures at the threshold `evals/operating_point.py`'s rule chooses on the dev half (the
highest refusing at most 5% of answerable questions).

    .venv/bin/python evals/experiments/abstention_combo.py   # ~1 min

What it measured (figures and discussion in `notes/stop-35-note.md`, "A cheap check of
combining judges"): the geometric mean ranked the gold set best (test AUC 0.841 against
the shipped cross-encoder's 0.801), but no combination's dev-chosen threshold held on the
test half (13% wrong abstentions, against the cross-encoder's 4.3%), so nothing shipped.
Moved here from `notes/abstention-combo.py` (issue 39).
"""

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from evals.operating_point import choose  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.evaluation.evaluate import evaluate  # noqa: E402
from rag.evaluation.metrics import abstention_curve, auc  # noqa: E402

JUDGES = {
    "cross-encoder": lambda ce, lex: ce,
    "lexical model": lambda ce, lex: lex,
    "min": min,
    "geometric mean": lambda ce, lex: (ce * lex) ** 0.5,
}


def main() -> None:
    results = {
        a: evaluate("default", settings=Settings(abstention=a), progress=False)[0].results
        for a in ("crossencoder", "model")
    }
    both = list(zip(results["crossencoder"], results["model"], strict=True))
    halves = {s: [(c, m) for c, m in both if c.split == s] for s in ("dev", "test")}
    answerable = {s: [c.answerable for c, _ in pairs] for s, pairs in halves.items()}
    for name, judge in JUDGES.items():
        scored = {
            s: [judge(c.score or 0.0, m.score or 0.0) for c, m in pairs]
            for s, pairs in halves.items()
        }
        t = choose(scored["dev"], answerable["dev"])
        (at,) = abstention_curve(scored["test"], answerable["test"], [t])
        aucs = {s: auc(np.array(scored[s]), np.array(answerable[s])) for s in halves}
        print(
            f"{name}: auc dev {aucs['dev']:.3f} test {aucs['test']:.3f}; threshold {t:.2f}:"
            f" test abstained {at['abstention_recall']:.3f},"
            f" wrong {at['wrong_abstention_rate']:.3f}"
        )


if __name__ == "__main__":
    main()
