"""Which precision bulk encoding runs in: bf16 where this CPU makes it faster and the
vectors stay faithful to fp32, else fp32.

CPUs with bf16 matrix units (AMX, AVX-512 BF16) run MiniLM under
``torch.autocast("cpu", dtype=torch.bfloat16)`` about 2.7 times faster than in fp32, with
vectors at a cosine of 0.99999 to the fp32 ones; CPUs without them emulate bf16 and get
slower. ``RAG_EMBEDDING_PRECISION=auto`` therefore decides by measuring: a short probe
(:func:`probe`, a few seconds) encodes a fixed sample both ways once per machine, model
and torch version, and the verdict is cached beside the ONNX export. Questions are always
encoded in fp32 (through ONNX, so the chat starts without torch); bf16 is used only where
the probe found its vectors interchangeable with those.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
Setting = Literal["auto", "fp32", "bf16"]
T = TypeVar("T")

FAITHFUL = 0.9999
"""Lowest cosine between a bf16 vector and the fp32 vector of the same text for the two
kinds to count as interchangeable (measured here: 0.99999 on average)."""
FASTER = 1.2
"""How much faster bf16 must encode than fp32 for ``auto`` to pick it."""

_WORDS = (
    "Offline question answering quotes the sentence that holds the answer and names its "
    "source with exact character offsets, so that a reader can check every claim against "
    "the document itself. When no indexed passage answers, it says so instead of guessing; "
    "follow-up questions lean on the conversation, and a pasted draft is checked sentence "
    "by sentence against the same index before anyone relies on it in a report."
).split()
SAMPLE = [" ".join((_WORDS * 4)[i : i + 8 + 6 * i]) for i in range(32)]
"""The probe's texts: 8 to 194 words, as chunks of a corpus run (one per batch size)."""


class UnfaithfulPrecision(ValueError):
    """bf16 was asked for on a CPU where its vectors differ from fp32's."""


class Verdict:
    """What a probe of bf16 against fp32 concludes: bf16 where it is faithful (each probe
    says what that means for its model) and at least :data:`FASTER` times as fast."""

    @property
    def faithful(self) -> bool:
        raise NotImplementedError

    @property
    def speedup(self) -> float:
        raise NotImplementedError

    @property
    def choice(self) -> Precision:
        """What ``auto`` uses."""
        return "bf16" if self.faithful and self.speedup >= FASTER else "fp32"


@dataclass(frozen=True)
class Probe(Verdict):
    """What encoding :data:`SAMPLE` both ways measured on this machine."""

    fp32_per_s: float
    bf16_per_s: float
    min_cosine: float
    mean_cosine: float
    bf16_units: bool
    """Whether the CPU reports bf16 matrix instructions (for the record: the choice is
    made on the measurement)."""

    @property
    def speedup(self) -> float:
        return self.bf16_per_s / self.fp32_per_s

    @property
    def faithful(self) -> bool:
        return self.min_cosine >= FAITHFUL

    def __str__(self) -> str:
        return (
            f"bf16 {self.bf16_per_s:.0f} texts/s vs fp32 {self.fp32_per_s:.0f} "
            f"({self.speedup:.2f}x), cosine to fp32 >= {self.min_cosine:.6f}"
        )


def autocast(precision: Precision) -> AbstractContextManager[object]:
    """The context a torch forward pass runs in for ``precision``."""
    if precision == "fp32":
        return nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def bf16_units() -> bool:
    """Whether the CPU says it has bf16 matrix instructions (Linux: /proc/cpuinfo)."""
    return bool({"amx_bf16", "avx512_bf16"} & _cpu_flags())


def _cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def _encode(model: SentenceTransformer, precision: Precision) -> tuple[np.ndarray, float]:
    """The sample's unit vectors in ``precision`` and the best of two timings."""
    best, vectors = float("inf"), np.zeros(0)
    for _ in range(2):
        started = time.perf_counter()
        with autocast(precision):
            vectors = model.encode(
                SAMPLE, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
        best = min(best, time.perf_counter() - started)
    return np.asarray(vectors, dtype=np.float32), best


def probe(model: SentenceTransformer) -> Probe:
    """Encode :data:`SAMPLE` in fp32 and in bf16 and compare speed and vectors."""
    _encode(model, "fp32")  # warm-up: first calls allocate and pick kernels
    fp32, fp32_s = _encode(model, "fp32")
    bf16, bf16_s = _encode(model, "bf16")
    cosines = np.sum(fp32 * bf16, axis=1) / (
        np.linalg.norm(fp32, axis=1) * np.linalg.norm(bf16, axis=1)
    )
    return Probe(
        fp32_per_s=len(SAMPLE) / fp32_s,
        bf16_per_s=len(SAMPLE) / bf16_s,
        min_cosine=float(cosines.min()),
        mean_cosine=float(cosines.mean()),
        bf16_units=bf16_units(),
    )


def probe_file(folder: Path, model_key: str) -> Path:
    """Where this machine's verdict for a model is kept in ``folder``: the name changes
    with the model's files (``model_key``), torch and the CPU (torch is not imported)."""
    from importlib.metadata import version

    machine = f"{platform.machine()}{sorted(_cpu_flags())}{version('torch')}{model_key}"
    return folder / f"{hashlib.sha256(machine.encode()).hexdigest()[:16]}.json"


def cached_probe(model: SentenceTransformer, file: Path) -> Probe:
    """The probe's result kept in ``file`` (see :func:`probe_file`): measured once, then
    read."""
    return cached(file, Probe, lambda: probe(model), "bf16 against fp32 encoding")


def cached(
    file: Path,
    kind: type[T],
    measure: Callable[[], T],
    what: str,
    keep: Callable[[T], bool] = lambda _: True,
) -> T:
    """The dataclass ``kind`` kept in ``file`` as JSON, else ``measure()`` (logged as
    measuring ``what``, once per machine) written there atomically, if ``keep`` says the
    measurement is worth keeping (else it serves this process only)."""
    try:
        return kind(**json.loads(file.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    log.info("measuring %s on this CPU (once) ...", what)
    result = measure()
    log.info("%s: %s", what, result)
    if not keep(result):
        return result
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(result)))  # type: ignore[call-overload]
    temporary.replace(file)
    return result


def resolve(setting: Setting, measured: Probe | None) -> Precision:
    """The precision to encode in: ``auto`` follows the probe; ``bf16`` asked for where
    the probe found it unfaithful is refused, since those vectors would not match the
    questions' (always fp32)."""
    if setting == "fp32":
        return "fp32"
    if measured is None:
        raise ValueError("resolving 'auto' or 'bf16' needs the probe's measurement")
    if setting == "auto":
        return measured.choice
    if not measured.faithful:
        raise UnfaithfulPrecision(
            f"RAG_EMBEDDING_PRECISION=bf16: on this CPU bf16 vectors differ from fp32 ones "
            f"(cosine down to {measured.min_cosine:.5f}, below {FAITHFUL}), so they would "
            "not match the questions' vectors; use auto or fp32."
        )
    return "bf16"
