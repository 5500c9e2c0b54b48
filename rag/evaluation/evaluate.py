"""Run an evaluation: index a dataset through the normal ingest path, ask every question,
measure (:mod:`.metrics`), write the report (:mod:`.report`) and check the floors.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from tqdm import tqdm

from rag.config import PROJECT_ROOT, Settings
from rag.evaluation.datasets import DATA_DIR, GOLD, Dataset, load_dataset
from rag.evaluation.metrics import EvalRun, measure
from rag.evaluation.report import write as write_report
from rag.index.bm25 import BM25
from rag.index.sync import holding
from rag.pipeline import RAG
from rag.reading.extractive import ExtractiveAnswerer
from rag.reading.generate import ModelVerifier


def run(rag: RAG, dataset: Dataset, *, progress: bool | None = None) -> EvalRun:
    """Index the dataset through the normal ingest path, ask every question, measure."""
    started = time.perf_counter()
    # prune: an index left by another seed or limit must not add stray distractors.
    index_report = rag.ingest(dataset.sources, prune=True, progress=progress)
    chunks = rag.store.chunks()
    bm25 = BM25([c.text for c in chunks])
    k = rag.settings.k
    verify = ModelVerifier(rag.crossencoder)
    results = []
    for question in tqdm(dataset.questions, desc="Asking", unit="q", disable=not progress):
        t0 = time.perf_counter()
        answer = rag.answer(question.question)
        latency = (time.perf_counter() - t0) * 1000
        lexical = [
            (chunks[i].source, chunks[i].start, chunks[i].end)
            for i, _ in bm25.top(question.question, k)
        ]
        results.append(
            measure(
                question,
                answer,
                dataset.texts,
                lexical,
                latency,
                lambda premise, claim: verify(claim, premise) is not None,
            )
        )
    return EvalRun(
        dataset.name,
        k,
        results,
        str(index_report).splitlines()[0],
        time.perf_counter() - started,
        answerer=rag.settings.llm,
    )


# --- entry point and floors ---

THRESHOLDS = PROJECT_ROOT / "evals" / "thresholds.toml"
REPORTS = PROJECT_ROOT / "evals" / "reports"


def evaluate(
    dataset: str = "default",
    *,
    limit: int | None = None,
    seed: int = 0,
    gold: Path = GOLD,
    out_dir: Path | None = None,
    settings: Settings | None = None,
    progress: bool | None = None,
    compare: Sequence[str] = (),
    wait: float | None = None,
) -> tuple[EvalRun, Path]:
    """Run one dataset end to end in its own index and write its report.

    The index lives under ``evals/data/index/<dataset>`` so evaluating never touches the
    chat's index, and a second run re-uses the embeddings of the first. ``compare``
    names other answerers (``RAG_LLM`` values) asked the same questions on the same index;
    the report puts their metrics beside those of the settings' own answerer. Another
    evaluation of the same dataset is waited for (``wait`` seconds at most; None: as
    long as it takes), then :class:`IndexBusy` is raised.
    """
    base = settings or Settings()
    data = load_dataset(dataset, limit, seed=seed, gold=gold, corpus_dir=base.corpus_dir)
    index_dir = DATA_DIR / "index" / dataset
    with exclusive(index_dir, wait):
        rag = RAG(base.model_copy(update={"index_dir": index_dir}))
        result = run(rag, data, progress=progress)
        for llm in compare:
            other = RAG(base.with_llm(llm).model_copy(update={"index_dir": index_dir}))
            result.compared.append(run(other, data, progress=progress))
    answerer = rag.answerer
    if isinstance(answerer, ExtractiveAnswerer) and answerer.abstention is not None:
        threshold = ("RAG_MIN_CONFIDENCE", answerer.min_confidence)
    else:
        threshold = ("RAG_MIN_SCORE", base.min_score)
    report = write_report(result, out_dir or REPORTS / dataset, threshold=threshold)
    return result, report


def exclusive(index_dir: Path, wait: float | None) -> AbstractContextManager[None]:
    """Hold the evaluation lock of ``index_dir`` for a whole run: evaluations of one
    dataset share its index, and a second one would prune away the first one's sources
    (another limit or seed) while the first is still asking."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    busy = f"another evaluation is using {index_dir}"
    lock = index_dir.with_name(f".{index_dir.name}.eval.lock")
    return holding(lock, wait, busy, notice=f"{busy}; waiting for it")


def check_floors(data: dict, dataset: str, path: Path = THRESHOLDS) -> list[str]:
    """Metrics of ``data`` (``EvalRun.to_json()``) that break the floors or ceilings kept
    for ``dataset`` in ``path``; empty when all hold."""
    table = tomllib.loads(path.read_text()).get(dataset, {})
    broken = []
    for bound, holds in (("min", lambda v, t: v >= t), ("max", lambda v, t: v <= t)):
        for key, limit in table.get(bound, {}).items():
            split, metric = key.split(".", 1)
            value = data["metrics"].get(split, {}).get(metric)
            if value is None or not holds(value, limit):
                broken.append(f"{key} = {value} breaks the {bound} of {limit}")
    return broken
