"""Concurrent conversations through the HTTP API, beside the same answers in-process and
through the Gradio chat, on one machine in one run.

    .venv/bin/python benchmarks/api_load.py [--conversations 50] [--turns 4]

Starts a real ``python app.py`` (API and chat on one port) over corpus/ and runs, one
after the other: ``--conversations`` users at once, each a thread with its own HTTP
client asking ``--turns`` questions in turn through ``POST /v1/chat/completions`` (the
messages grow with each turn, so later turns are follow-ups); the same questions through
the chat's ``/chat`` endpoint, once over Gradio's HTTP protocol with a plain HTTP client
(as a browser's events reach the server) and once with ``gradio_client`` (as
benchmarks/load_chat.py asks, the baseline of issue 20); and the same questions answered
by ``RAG.answer`` in this process, over an index of its own, one thread per core (what
the answerer sustains with no server in the way). The answer cache is off unless
``RAG_ANSWER_CACHE`` is set: the rounds ask the same questions. Prints one Markdown row each:
requests, errors, replies that cite, answers/s, p50 and p95 latency, p95/p50, answers/s
as a share of in-process, and the CPU seconds the server and the clients (this process,
on the same cores) spent.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import psutil

from benchmarks.load_chat import (
    CORPUS,
    QUESTIONS,
    REPO,
    Connection,
    benchmark_env,
    process_tree,
    run_round,
    start_app,
)
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
    server_cpu_s: float = float("nan")  # of the server process and its children
    client_cpu_s: float = float("nan")  # of this process, which asks

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms) or [float("nan")]
        return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User and system CPU time of a process (and its descendants) so far."""
    total = 0.0
    for p in process_tree(pid) if children else [psutil.Process(pid)]:
        with suppress(psutil.NoSuchProcess):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def measured(run: Callable[[], Result], server_pid: int) -> Result:
    """``run()`` with the CPU seconds it cost the server and this process (the clients,
    on the same cores: what they take, the server cannot use)."""
    here = os.getpid()
    server_before, client_before = cpu_seconds(server_pid), cpu_seconds(here, children=False)
    result = run()
    result.server_cpu_s = cpu_seconds(server_pid) - server_before
    result.client_cpu_s = cpu_seconds(here, children=False) - client_before  # not the server
    return result


def question(conversation: int, turn: int) -> str:
    return QUESTIONS[(conversation + turn) % len(QUESTIONS)]


def api_round(url: str, conversations: int, turns: int, timeout: float) -> Result:
    """Each user a thread and an HTTP connection of its own, its messages growing turn by
    turn; a failed turn is counted and the conversation goes on."""
    result = Result("API /v1/chat/completions", conversations * turns)
    lock = threading.Lock()

    def user(number: int) -> None:
        messages: list[dict] = []
        with Connection(url, timeout) as client:
            for turn in range(turns):
                messages.append({"role": "user", "content": question(number, turn)})
                start = time.perf_counter()
                try:
                    reply = client.post(
                        "v1/chat/completions", {"model": "rag", "messages": messages}
                    )
                    message = reply["choices"][0]["message"]
                except Exception as err:
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


def chat_round(
    url: str, conversations: int, turns: int, timeout: float, client: str = "gradio_client"
) -> Result:
    """``/chat`` as benchmarks/load_chat.py asks it: with ``gradio_client`` (issue 20's
    baseline figures came from it) or ``client="http"``, Gradio's HTTP protocol with one
    session per user, as a browser's page asks, without ``gradio_client``'s polling
    threads on these cores. First questions only, one per turn."""
    found = run_round(url, conversations, turns, request_timeout=timeout, client=client)
    return Result(
        f"chat /chat ({'Gradio HTTP' if client == 'http' else 'gradio_client'})",
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
        cache = int(benchmark_env()["RAG_ANSWER_CACHE"])
        rag = RAG(corpus_dir=docs, index_dir=Path(folder) / "index", answer_cache=cache)
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

        start, cpu = time.perf_counter(), cpu_seconds(os.getpid())
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(one, asked))
        result.wall_s = time.perf_counter() - start
        result.server_cpu_s = cpu_seconds(os.getpid()) - cpu  # the answerer's, no server
        return result


def row(result: Result, baseline: Result) -> str:
    p50, p95 = result.percentile(50), result.percentile(95)
    share = result.throughput / baseline.throughput if baseline.throughput else float("nan")
    return (
        f"| {result.name} | {result.requests} | {len(result.errors)} | {result.cited} | "
        f"{result.throughput:.1f} | {p50:.0f} | {p95:.0f} | {p95 / p50:.2f} | {share:.2f} | "
        f"{seconds(result.server_cpu_s)} | {seconds(result.client_cpu_s)} |"
    )


def seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def commit_of(checkout: Path) -> str:
    """The short commit of ``checkout`` (its folder name where git can't say)."""
    import subprocess

    done = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or checkout.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds a request")
    parser.add_argument(
        "--app-dir",
        type=Path,
        action="append",
        help="a checkout whose app.py serves the API round (repeat it to run commits side "
        "by side, e.g. a `git worktree` of the one before); default: this one, all rounds",
    )
    args = parser.parse_args()
    n, turns = args.conversations, args.turns
    rounds = []
    for checkout in args.app_dir or [REPO]:
        with start_app(env=benchmark_env(), app_dir=checkout) as app:
            pid, url, timeout = app.process.pid, app.url, args.timeout
            api = measured(lambda u=url, t=timeout: api_round(u, n, turns, t), pid)
            if args.app_dir:
                api.name += f" at {commit_of(checkout)}"
                rounds.append(api)
                continue
            rounds += [
                api,
                measured(lambda u=url, t=timeout: chat_round(u, n, turns, t, "http"), pid),
                measured(lambda u=url, t=timeout: chat_round(u, n, turns, t), pid),
            ]
    local = in_process(n, turns)
    print(f"{n} conversations x {turns} questions, {os.cpu_count()} cores\n")
    print(
        "| path | requests | errors | cited | answers/s | p50 (ms) | p95 (ms) | p95/p50 "
        "| x in-process | server CPU (s) | client CPU (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result in (local, *rounds):
        print(row(result, local))
    print(f"\nin-process median {statistics.median(local.latencies_ms):.0f} ms an answer")
    for result in rounds:
        for error in result.errors[:3]:
            print(f"{result.name} error: {error}")


if __name__ == "__main__":
    main()
