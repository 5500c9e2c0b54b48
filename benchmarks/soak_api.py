"""A long run of concurrent conversations through the HTTP API, the server's memory read
every few minutes: does it hold flat?

    .venv/bin/python benchmarks/soak_api.py [--minutes 30] [--every 5] [--conversations 20]

Starts a real ``python app.py`` over corpus/ and keeps ``--conversations`` users asking
(each round: every user asks ``--turns`` questions through ``/v1/chat/completions``)
until ``--minutes`` have passed; bounded: it stops by itself. Every ``--every`` minutes it
prints the server's resident memory (with its children), the answers and errors so far.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.api_load import api_round
from benchmarks.load_chat import benchmark_env, start_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=5, help="minutes between readings")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    with start_app(env=benchmark_env()) as app:
        start = time.monotonic()
        end, next_reading = start + args.minutes * 60, start
        answers = errors = 0
        print(
            "| minute | answers | errors | answers/s (last round) | p95 (ms) | server RSS (MiB) |"
        )
        print("|---:|---:|---:|---:|---:|---:|")
        last = None
        while True:
            now = time.monotonic()
            if now >= next_reading or now >= end:
                rate = f"{last.throughput:.1f}" if last else "-"
                p95 = f"{last.percentile(95):.0f}" if last else "-"
                print(
                    f"| {(now - start) / 60:.1f} | {answers} | {errors} | {rate} | {p95} | "
                    f"{app.rss_mib():.0f} |",
                    flush=True,
                )
                next_reading += args.every * 60
            if now >= end:
                break
            last = api_round(app.url, args.conversations, args.turns, timeout=120)
            answers += len(last.latencies_ms)
            errors += len(last.errors)


if __name__ == "__main__":
    main()
