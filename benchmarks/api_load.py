"""Concurrent conversations through the HTTP API, beside the same answers in-process and
through the Gradio chat, on one machine in one run.

    .venv/bin/python benchmarks/api_load.py [--conversations 50] [--turns 4]

Starts a real ``python app.py`` (API and chat on one port) over corpus/ and runs, one
after the other: ``--conversations`` users at once, each a thread with its own HTTP
client asking ``--turns`` questions in turn through ``POST /v1/chat/completions`` (the
messages grow with each turn, so later turns are follow-ups); the same through the chat's
``/chat`` endpoint with ``gradio_client``; and the same questions answered by
``RAG.answer`` in this process, over an index of its own, one thread per core (what the
answerer sustains with no server in the way). Prints one Markdown row each: requests,
errors, replies that cite, answers/s, p50 and p95 latency, p95/p50, and answers/s as a
share of in-process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx

from benchmarks.load_chat import CORPUS, QUESTIONS, run_round, start_app
from rag import RAG


@dataclass
class Result:
    """What one way of asking measured."""

    name: str
    requests: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cited: int = 0
    wall_s: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms) or [float("nan")]
        return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def question(conversation: int, turn: int) -> str:
    return QUESTIONS[(conversation + turn) % len(QUESTIONS)]


def api_round(url: str, conversations: int, turns: int, timeout: float) -> Result:
    """Each user a thread and an HTTP client, its messages growing turn by turn."""
    result = Result("API /v1/chat/completions", conversations * turns)
    lock = threading.Lock()

    def user(number: int) -> None:
        messages: list[dict] = []
        with httpx.Client(base_url=url, timeout=timeout) as client:
            for turn in range(turns):
                messages.append({"role": "user", "content": question(number, turn)})
                start = time.perf_counter()
                try:
                    reply = client.post(
                        "v1/chat/completions", json={"model": "rag", "messages": messages}
                    )
                    reply.raise_for_status()
                    message = reply.json()["choices"][0]["message"]
                except Exception as err:  # counted, and the conversation goes on
                    with lock:
                        result.errors.append(f"{number}/{turn}: {type(err).__name__}: {err}")
                    continue
                elapsed = (time.perf_counter() - start) * 1000
                messages.append({"role": "assistant", "content": message["content"]})
                with lock:
                    result.latencies_ms.append(elapsed)
                    result.cited += bool(message["citations"])

    start = time.perf_counter()
    with ThreadPoolExecutor(conversations) as pool:
        list(pool.map(user, range(conversations)))
    result.wall_s = time.perf_counter() - start
    return result


def chat_round(url: str, conversations: int, turns: int, timeout: float) -> Result:
    found = run_round(url, conversations, turns, request_timeout=timeout)
    return Result(
        "chat /chat (gradio_client)",
        found.requests,
        found.latencies_ms,
        found.errors,
        found.cited,
        found.wall_s,
    )


def in_process(conversations: int, turns: int) -> Result:
    """The same questions through ``RAG.answer`` here, one thread per core, each with the
    earlier questions of its conversation as history, as the API is asked them (a
    follow-up costs more than a first question: the conversation is read too)."""
    with tempfile.TemporaryDirectory(prefix="rag-inproc-") as folder:
        docs = Path(folder) / "docs"
        shutil.copytree(CORPUS, docs)
        rag = RAG(corpus_dir=docs, index_dir=Path(folder) / "index")
        rag.ingest(progress=False)
        rag.answer(QUESTIONS[0])  # models loaded, as the server's are
        asked = [
            (question(n, t), [question(n, earlier) for earlier in range(t)])
            for t in range(turns)
            for n in range(conversations)
        ]
        result = Result("in-process RAG.answer", len(asked))
        lock = threading.Lock()

        def one(asking: tuple[str, list[str]]) -> None:
            q, history = asking
            start = time.perf_counter()
            answer = rag.answer(q, history=history)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                result.latencies_ms.append(elapsed)
                result.cited += bool(answer.citations)

        start = time.perf_counter()
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(one, asked))
        result.wall_s = time.perf_counter() - start
        return result


def row(result: Result, baseline: Result) -> str:
    p50, p95 = result.percentile(50), result.percentile(95)
    share = result.throughput / baseline.throughput if baseline.throughput else float("nan")
    return (
        f"| {result.name} | {result.requests} | {len(result.errors)} | {result.cited} | "
        f"{result.throughput:.1f} | {p50:.0f} | {p95:.0f} | {p95 / p50:.2f} | {share:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a request")
    args = parser.parse_args()
    n, turns = args.conversations, args.turns
    with start_app() as app:
        api = api_round(app.url, n, turns, args.timeout)
        chat = chat_round(app.url, n, turns, args.timeout)
    local = in_process(n, turns)
    print(f"{n} conversations x {turns} questions, {os.cpu_count()} cores\n")
    print(
        "| path | requests | errors | cited | answers/s | p50 (ms) | p95 (ms) | p95/p50 "
        "| x in-process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result in (local, api, chat):
        print(row(result, local))
    print(f"\nin-process median {statistics.median(local.latencies_ms):.0f} ms an answer")
    for result in (api, chat):
        for error in result.errors[:3]:
            print(f"{result.name} error: {error}")


if __name__ == "__main__":
    main()
