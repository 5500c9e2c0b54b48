"""Which arithmetic reads the pairs on this machine: ONNX in fp32, torch in bf16, or ONNX
in int8 (``RAG_READER_PRECISION``).

The reading model is most of an answer's cost: a few dozen short pairs through a
6-layer transformer, compute-bound on 2 cores. Two cheaper arithmetics exist:

- **bf16** (torch autocast): on CPUs with bf16 matrix units (AVX-512 BF16, AMX) about
  1.4 times faster than the fp32 ONNX export here, probabilities within 0.01 of it on the
  gold set's pairs. On CPUs without them bf16 is emulated and slower. So ``auto`` (asked
  for: the default stays fp32, which never imports torch) measures, as
  :mod:`rag.index.precision` does for ingest: a short probe (:func:`probe`) reads
  :data:`SAMPLE` both ways once per machine, model and torch version, and the verdict is
  cached; bf16 is used only where it is faster *and* faithful (:data:`FAITHFUL`).
- **int8** (onnxruntime's dynamic quantisation, per-channel weights): 1.5 times as fast
  in an answer, but its probabilities move by up to 0.25 and it cited other sentences on
  3 of the 73 gold questions (docs/performance.md), so it is never chosen for you.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from rag.index.precision import UnfaithfulPrecision, Verdict, autocast, bf16_units

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

Setting = Literal["auto", "fp32", "bf16", "int8"]
Runner = Callable[[dict[str, np.ndarray]], np.ndarray]
"""Padded arrays of pairs (:func:`rag.reading.crossencoder.batch_arrays`) -> logits."""

FAITHFUL = 0.02
"""Largest difference in any probability from the fp32 reader for bf16 to count as the
same reader (measured here: 0.0098 at most over the gold set's 680 pairs)."""
ROUNDS = 5
"""Timed reads of the sample in each block."""
STEADY = 1.25
"""Most a runtime's two blocks may differ (ratio of medians) for the verdict to be kept:
measured beside a test run and a benchmark, bf16 read 2.3 times *slower* than fp32 here
(torch's threads suffer more from busy cores than onnxruntime's), on a quiet machine 1.4
times faster."""

_SENTENCES = (
    "The museum has been open to visitors since 1985 and holds about forty thousand works.",
    "Kyiv would receive security guarantees in return for a freeze along the front line.",
    "Its board voted in March to lend the collection to three regional galleries.",
    "The plan was drafted by American and Russian officials without Ukraine in the room.",
    "European governments said they had not been consulted and asked for a new round.",
    "Rainfall in the valley fell by a third over the decade, the survey found.",
)
_QUESTIONS = (
    "Since when has the museum been open?",
    "What would Ukraine receive in return?",
    "Who drafted the plan?",
    "What did the survey find about rainfall?",
)
SAMPLE = [
    (
        _QUESTIONS[i % len(_QUESTIONS)],
        f"{_SENTENCES[i % 6]} {_SENTENCES[(i + 2) % 6]}",
        _SENTENCES[(i + 1) % 6],
    )
    for i in range(12)
]
"""The probe's pairs (question, sentence, the sentence before): about as many and as long
as an answer reads (80 word pieces)."""


@dataclass(frozen=True)
class ReaderProbe(Verdict):
    """What reading :data:`SAMPLE` in fp32 (ONNX) and in bf16 (torch) measured here."""

    fp32_ms: float
    bf16_ms: float
    max_difference: float
    """Largest difference of any probability between the two."""
    bf16_units: bool
    """Whether the CPU reports bf16 matrix instructions (for the record)."""
    drift: float = 1.0
    """The larger ratio, of either runtime, between its two blocks' medians: far from 1,
    something else was using the cores, and the verdict is not kept (:attr:`steady`)."""

    @property
    def steady(self) -> bool:
        """Whether the timings held still enough to be this machine's, not its load's."""
        return self.drift <= STEADY

    @property
    def speedup(self) -> float:
        return self.fp32_ms / self.bf16_ms

    @property
    def faithful(self) -> bool:
        return self.max_difference <= FAITHFUL

    def __str__(self) -> str:
        return (
            f"bf16 {self.bf16_ms:.0f} ms vs fp32 {self.fp32_ms:.0f} ms a sample "
            f"({self.speedup:.2f}x), probabilities within {self.max_difference:.4f}"
        )


def bf16_runner(model: torch.nn.Module) -> Runner:
    """``model`` (torch) reading under bf16 autocast, logits back in fp32."""
    import torch

    def run(arrays: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode(), autocast("bf16"):
            tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
            return model(**tensors).float().numpy()

    return run


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities of each row of ``logits``."""
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def probe(fp32: Runner, bf16: Runner, arrays: dict[str, np.ndarray]) -> ReaderProbe:
    """Read ``arrays`` (the :data:`SAMPLE` pairs) both ways and compare output and time:
    two blocks of :data:`ROUNDS` reads a way, taken in turn (one runtime's idle threads
    slow the other's first reads after it), and each block's median."""
    reference, cheaper = fp32(arrays), bf16(arrays)  # warm-up: kernels for these shapes
    blocks: dict[Runner, list[float]] = {fp32: [], bf16: []}
    for _ in range(2):
        for run, medians in blocks.items():
            run(arrays)
            spent = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                run(arrays)
                spent.append((time.perf_counter() - started) * 1000)
            medians.append(float(np.median(spent)))
    difference = np.abs(softmax(reference) - softmax(cheaper)).max()
    fp32_ms, bf16_ms = (float(np.mean(medians)) for medians in blocks.values())
    drift = max(max(m) / min(m) for m in blocks.values())
    return ReaderProbe(fp32_ms, bf16_ms, float(difference), bf16_units(), drift)


def refuse_unfaithful(measured: ReaderProbe) -> None:
    """bf16 asked for where it reads differently: refused, saying what to use."""
    if not measured.faithful:
        raise UnfaithfulPrecision(
            f"RAG_READER_PRECISION=bf16: on this CPU bf16 probabilities differ from fp32 "
            f"ones by up to {measured.max_difference:.3f} (more than {FAITHFUL}); use auto "
            "or fp32."
        )


def quantised(fp32_file: Path) -> Path:
    """The int8 model beside the fp32 export ``fp32_file``: its matrix products
    quantised dynamically with a scale per output channel, made once (a few seconds)."""
    target = fp32_file.with_name("model-int8.onnx")
    if target.exists():
        return target
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    temporary = target.with_suffix(f".{os.getpid()}.tmp.onnx")  # two processes at once
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on pre-processing there
    try:
        quantize_dynamic(
            fp32_file,
            temporary,
            weight_type=QuantType.QInt8,
            per_channel=True,
            # the export is already optimised: its fused operators carry no type information
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
    temporary.replace(target)
    return target
