"""A small logistic regression the project trains itself and ships as a JSON file.

Two decisions are made this way: which sentences answer a question
(:class:`rag.reading.ranker.SentenceRanker`) and whether the evidence answers it at all
(:class:`rag.reading.abstain.AbstentionModel`). Each names its inputs (``NAMES``) and its weights
file (``PATH``); a weights file trained on other inputs is refused on load.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import ClassVar, Self

import numpy as np


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression on standardised features: :meth:`probability` of the positive
    class; ``threshold`` is the operating point its training script chose."""

    NAMES: ClassVar[tuple[str, ...]] = ()
    PATH: ClassVar[Path]

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    trained_on: str = ""

    def probability(self, x: np.ndarray) -> np.ndarray:
        """One probability per row of ``x`` (or a 0-d array for one feature vector)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1 / (1 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, trained_on: str = "") -> Self:
        """Weights that maximise the L2-penalised likelihood (Newton's method, which
        converges in a few steps on a handful of features)."""
        if x.shape[1] != len(cls.NAMES):
            raise ValueError(f"{cls.__name__} takes {len(cls.NAMES)} features, got {x.shape[1]}")
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        penalty = np.diag([l2] * (z.shape[1] - 1) + [0.0])  # the bias is not penalised
        for _ in range(50):
            p = 1 / (1 + np.exp(-z @ w))
            gradient = z.T @ (p - y) + penalty @ w
            hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if np.abs(step).max() < 1e-8:
                break
        return cls(
            cls.NAMES,
            tuple(mean.tolist()),
            tuple(scale.tolist()),
            tuple(w[:-1].tolist()),
            float(w[-1]),
            0.5,
            trained_on,
        )

    def with_threshold(self, threshold: float) -> Self:
        return replace(self, threshold=threshold)

    def save(self, path: Path | None = None) -> None:
        target = self.PATH if path is None else path
        target.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> Self:
        source = cls.PATH if path is None else path
        data = json.loads(source.read_text(encoding="utf-8"))
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
        if model.features != cls.NAMES:
            raise ValueError(f"{source} was trained on other features: retrain it")
        return model
