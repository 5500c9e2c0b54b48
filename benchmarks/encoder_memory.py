"""What keeping the encoder's memory in check costs: the same chunk texts encoded by the
packaged model, 64 at a time as ``Store.add`` does, each setting in a fresh process,
taking turns: ``glibc`` (its defaults: the baseline), ``trim`` (what rag does:
``rag.index.embed.release_freed_memory`` after every batch) and ``pinned`` (glibc's mmap
threshold fixed at 128 KiB with ``mallopt``, what rag did before).

    .venv/bin/python benchmarks/encoder_memory.py          # 200 articles, 3 rounds (~15 min)
    .venv/bin/python benchmarks/encoder_memory.py --articles 600 --rounds 5

Texts are rag's chunks of the first ``--articles`` CNN/DailyMail articles (as
``benchmarks/scale.py``). Prints each run (with its peak RSS and the memory it still
holds once done: what fragmentation keeps), then each setting's median word pieces per
second and peak RSS, and the pinned and trim medians over glibc's.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import time

from scale import chunk_texts, documents, in_fresh_process, peak_rss_mib, token_count

SETTINGS = ("pinned", "glibc", "trim")
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: the size from which a block is its own mapping."""


def worker(setting: str, articles: int) -> dict[str, float]:
    """Encode the chunks once with ``setting``; its figures."""
    from sentence_transformers import SentenceTransformer

    from rag.index.embed import default_model_path, release_freed_memory
    from rag.index.store import BATCH

    if setting == "pinned":
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    model = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)
    texts = chunk_texts(documents(str(articles)))
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        model.encode(texts[i : i + BATCH], batch_size=32, normalize_embeddings=True)
        if setting == "trim":
            release_freed_memory()
    seconds = time.perf_counter() - start
    peak, held = peak_rss_mib(), rss_mib()
    return {
        "chunks": len(texts),
        "seconds": seconds,
        "tokens": token_count(texts),
        "peak": peak,
        "held": held,
    }


def rss_mib() -> float:
    """Memory this process holds now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


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
    print("| round | setting | chunks | encode s | word pieces/s | peak RSS MiB | held MiB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for n in range(1, args.rounds + 1):
        # alternate which goes first, so a drift of the machine hits both alike
        for setting in SETTINGS if n % 2 else SETTINGS[::-1]:
            f = in_fresh_process(
                __file__, ["--worker", setting, "--articles", str(args.articles)], setting
            )
            speed[setting].append(f["tokens"] / f["seconds"])
            peaks[setting].append(f["peak"])
            print(
                f"| {n} | {setting} | {f['chunks']:,} | {f['seconds']:.1f} "
                f"| {speed[setting][-1]:,.0f} | {f['peak']:,.0f} | {f['held']:,.0f} |",
                flush=True,
            )
    medians = {s: statistics.median(speed[s]) for s in SETTINGS}
    print()
    for s in SETTINGS:
        print(
            f"{s}: median {medians[s]:,.0f} word pieces/s, "
            f"peak RSS median {statistics.median(peaks[s]):,.0f} MiB"
        )
    for s in SETTINGS[::2]:
        print(f"{s} / glibc: {medians[s] / medians['glibc']:.3f}")


if __name__ == "__main__":
    main()
