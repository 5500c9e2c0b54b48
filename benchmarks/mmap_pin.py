"""Does pinning glibc's mmap threshold (``rag.embed.pin_mmap_threshold``) slow the
encoder? The same chunk texts encoded by the packaged model with the threshold pinned and
with glibc's own (dynamic) threshold, each in a fresh process, taking turns.

    .venv/bin/python benchmarks/mmap_pin.py                  # 200 articles, 3 rounds (~12 min)
    .venv/bin/python benchmarks/mmap_pin.py --articles 600 --rounds 5

Texts are rag's chunks of the first ``--articles`` CNN/DailyMail articles (as
``benchmarks/scale.py``). Prints each run, then the median word pieces per second and
peak RSS of each setting and the pinned median over glibc's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from scale import documents, peak_rss_mib, token_count

SETTINGS = ("pinned", "glibc")


def worker(setting: str, articles: int) -> dict[str, float]:
    """Encode the chunks once with ``setting``; its figures."""
    from sentence_transformers import SentenceTransformer

    from rag.config import Settings
    from rag.embed import default_model_path, load_model, load_tokenizer
    from rag.ingest import Splitter

    if setting == "pinned":
        model = load_model()  # pins, as every rag ingest does
    else:
        model = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)
    settings = Settings()
    splitter = Splitter(
        load_tokenizer(default_model_path()), settings.chunk_size, settings.chunk_overlap
    )
    texts = [
        c.text
        for d in documents(str(articles))
        for c in splitter.split(d.page_content, d.metadata["source"])
    ]
    start = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True)
    seconds = time.perf_counter() - start
    peak = peak_rss_mib()
    return {"chunks": len(texts), "seconds": seconds, "tokens": token_count(texts), "peak": peak}


def run(setting: str, articles: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", setting, "--articles", str(articles)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{setting} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=SETTINGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.articles)))
        return

    speed: dict[str, list[float]] = {s: [] for s in SETTINGS}
    peaks: dict[str, list[float]] = {s: [] for s in SETTINGS}
    print("| round | setting | chunks | encode s | word pieces/s | peak RSS MiB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for n in range(1, args.rounds + 1):
        # alternate which goes first, so a drift of the machine hits both alike
        for setting in SETTINGS if n % 2 else SETTINGS[::-1]:
            f = run(setting, args.articles)
            speed[setting].append(f["tokens"] / f["seconds"])
            peaks[setting].append(f["peak"])
            print(
                f"| {n} | {setting} | {f['chunks']:,} | {f['seconds']:.1f} "
                f"| {speed[setting][-1]:,.0f} | {f['peak']:,.0f} |",
                flush=True,
            )
    medians = {s: statistics.median(speed[s]) for s in SETTINGS}
    print()
    for s in SETTINGS:
        print(
            f"{s}: median {medians[s]:,.0f} word pieces/s, "
            f"peak RSS median {statistics.median(peaks[s]):,.0f} MiB"
        )
    print(f"pinned / glibc: {medians['pinned'] / medians['glibc']:.3f}")


if __name__ == "__main__":
    main()
