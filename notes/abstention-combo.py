"""Stop 35, offline: does the cross-encoder's abstention score combined with the lexical
abstention model's confidence separate the gold set's answerable from unanswerable
questions better than either alone? Prints AUC per half and the test half's figures at a
threshold chosen on the dev half (the highest with at most 5% wrong abstentions).

    PYTHONPATH=. .venv/bin/python notes/abstention-combo.py   # ~1 min
"""

import numpy as np

from rag.config import Settings
from rag.evaluation.evaluate import evaluate

JUDGES = {
    "cross-encoder": lambda ce, lex: ce,
    "lexical model": lambda ce, lex: lex,
    "min": min,
    "geometric mean": lambda ce, lex: (ce * lex) ** 0.5,
}


def auc(scores: np.ndarray, answerable: np.ndarray) -> float:
    pos, neg = scores[answerable], scores[~answerable]
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def rates(scores: np.ndarray, answerable: np.ndarray, t: float) -> tuple[float, float]:
    """(share of unanswerable abstained, share of answerable abstained) below ``t``."""
    return float(np.mean(scores[~answerable] < t)), float(np.mean(scores[answerable] < t))


def main() -> None:
    results = {
        a: evaluate("default", settings=Settings(abstention=a), progress=False)[0].results
        for a in ("crossencoder", "model")
    }
    grid = np.arange(0.005, 1.0, 0.005)
    halves = {}
    for split in ("dev", "test"):
        pairs = [
            (c, m)
            for c, m in zip(results["crossencoder"], results["model"], strict=True)
            if c.split == split
        ]
        halves[split] = (pairs, np.array([c.answerable for c, _ in pairs]))
    for name, judge in JUDGES.items():
        scored = {
            s: np.array([judge(c.score or 0.0, m.score or 0.0) for c, m in pairs])
            for s, (pairs, _) in halves.items()
        }
        dev_y, test_y = halves["dev"][1], halves["test"][1]
        t = max(t for t in grid if rates(scored["dev"], dev_y, t)[1] <= 0.05)
        abstained, wrong = rates(scored["test"], test_y, t)
        print(
            f"{name}: auc dev {auc(scored['dev'], dev_y):.3f}"
            f" test {auc(scored['test'], test_y):.3f}"
            f"; threshold {t:.3f}: test abstained {abstained:.3f}, wrong {wrong:.3f}"
        )


if __name__ == "__main__":
    main()
