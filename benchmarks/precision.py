"""bf16 against fp32 encoding on this CPU: what the probe says, how fast each encoder
indexes real chunks, and from how many chunks torch repays its import.

    .venv/bin/python benchmarks/precision.py                # 256 SQuAD chunks, ~2 minutes
    .venv/bin/python benchmarks/precision.py --chunks 1024

Chunks are SQuAD v1.1 dev paragraphs split by rag's own splitter (sampled with a fixed
seed), encoded the way ingest encodes them (chunk and sentence vectors from one forward
pass, batches sorted by length): through the ONNX export (fp32, no torch needed), and
through torch in fp32 and under bf16 autocast. Torch's import and model load are timed in
a fresh process. Prints one table; ``TORCH_FROM`` in ``rag/index/store.py`` comes from
its last column.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

from rag.config import Settings
from rag.documents.ingest import Splitter
from rag.documents.sentences import sentence_spans
from rag.evaluation.datasets import load_squad
from rag.index.embed import SentenceEmbeddings, load_onnx
from rag.index.precision import probe
from rag.index.store import BATCH

LOAD = (
    "import time; t = time.perf_counter(); "
    "from rag.index.embed import load_model; load_model(); "
    "print(time.perf_counter() - t)"
)


def chunk_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` chunks of SQuAD dev paragraphs, as rag's splitter cuts them."""
    dataset = load_squad(None)
    settings = Settings()
    splitter = Splitter(SentenceEmbeddings().tokenizer, settings.chunk_size, settings.chunk_overlap)
    chunks = [
        c.text for source, text in dataset.texts.items() for c in splitter.split(text, source)
    ]
    return sorted(random.Random(seed).sample(chunks, min(n, len(chunks))), key=len)


def throughput(encode, texts: list[str], runs: int = 2) -> tuple[float, np.ndarray]:
    """Best chunks/s over ``runs`` of encoding ``texts`` in ingest's batches, and the
    chunk vectors."""
    best, vectors = float("inf"), np.zeros(0)
    for _ in range(runs):
        started = time.perf_counter()
        parts = []
        for i in range(0, len(texts), BATCH):
            batch = texts[i : i + BATCH]
            parts.append(encode(batch, [sentence_spans(t) for t in batch]))
        best = min(best, time.perf_counter() - started)
        vectors = np.concatenate(parts)
    return len(texts) / best, vectors


def torch_load_seconds(runs: int = 3) -> float:
    """Median seconds a fresh process takes to import torch and load the model."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", LOAD], capture_output=True, text=True, check=True
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=256)
    args = parser.parse_args()

    texts = chunk_texts(args.chunks)
    print(f"{len(texts)} chunks, {statistics.mean(map(len, texts)):.0f} characters on average")
    load = torch_load_seconds()

    fp32 = SentenceEmbeddings(precision="fp32")
    bf16 = SentenceEmbeddings(precision="bf16")
    onnx = load_onnx()
    assert onnx is not None, "no ONNX export on this machine"
    measured = probe(fp32.model)
    print(f"probe: {measured} -> auto picks {measured.choice}")

    def spans(embeddings: SentenceEmbeddings, torch: bool):
        return lambda batch, sp: embeddings.encode_with_spans(batch, sp, torch=torch)[0]

    rows = []
    onnx_rate, reference = throughput(spans(fp32, False), texts)
    rows.append(("ONNX export, fp32", onnx_rate, 1.0, 0.0))
    for name, embeddings in (("torch, fp32", fp32), ("torch, bf16 autocast", bf16)):
        rate, vectors = throughput(spans(embeddings, True), texts)
        cosine = np.sum(vectors * reference, axis=1)
        rows.append((name, rate, float(cosine.min()), load))
    print()
    print(f"torch import and model load in a fresh process: {load:.1f} s (median of 3)")
    print()
    print("| encoder | chunks/s | vs ONNX | min cosine to ONNX fp32 | torch pays from |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rate, cosine, seconds in rows:
        gain = 1 / onnx_rate - 1 / rate
        pays = "–" if not seconds else (f"{seconds / gain:,.0f} chunks" if gain > 0 else "never")
        print(f"| {name} | {rate:.1f} | {rate / onnx_rate:.2f}x | {cosine:.6f} | {pays} |")


if __name__ == "__main__":
    main()
