"""Cold start and warm answer latency on the default corpus.

    .venv/bin/python benchmarks/answer_latency.py

Prints: time from a new process to its first answer (fresh index, then existing index),
from `python app.py` to the first answer through the web endpoint (likewise), and the warm
`answer()` latency over 20 questions (median and p95). Uses temporary index folders.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [
    *(Path(__file__).parent / "questions-answered.txt").read_text().splitlines(),
    *(Path(__file__).parent / "questions-unanswered.txt").read_text().splitlines(),
]
"""About the default corpus: 17 it answers, 3 it does not (shared with load_chat.py)."""
FIRST = QUESTIONS[0]
COLD = "from rag import answer; answer({q!r})"


def cold_start(index_dir: str) -> float:
    """Wall time from launching a Python process to its first answer."""
    env = {**os.environ, "RAG_INDEX_DIR": index_dir}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", COLD.format(q=FIRST)], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - start


def app_cold_start(index_dir: str, question: str = FIRST, **settings: str) -> float:
    """Wall time from `python app.py` to the first answer through /chat; ``settings`` are
    further RAG_* variables (``collection="bench"`` sets RAG_COLLECTION)."""
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RAG_INDEX_DIR": index_dir,
        "RAG_PORT": str(port),
        **{f"RAG_{name.upper()}": value for name, value in settings.items()},
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                    question, api_name="/chat"
                )
                return time.perf_counter() - start
            except Exception:
                if proc.poll() is not None or time.perf_counter() - start > 180:
                    raise RuntimeError("app.py did not serve within 180 s") from None
                time.sleep(0.25)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def warm_latency(index_dir: str) -> list[float]:
    from rag import RAG

    rag = RAG(index_dir=index_dir)
    rag.ingest(progress=False)
    rag.answer(FIRST)  # warm-up
    times = []
    for q in QUESTIONS:
        t = time.perf_counter()
        rag.answer(q)
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = str(Path(tmp) / "index")
        fresh = cold_start(index)
        existing = cold_start(index)
        app = app_cold_start(str(Path(tmp) / "app-index"))
        app_existing = app_cold_start(str(Path(tmp) / "app-index"))
        times = warm_latency(index)
    rows = [
        ("Cold start to first answer, empty index (start, index, answer)", f"{fresh:.1f} s"),
        ("Cold start to first answer, index exists", f"{existing:.1f} s"),
        ("`python app.py` to first answer via /chat, empty index", f"{app:.1f} s"),
        ("`python app.py` to first answer via /chat, index exists", f"{app_existing:.1f} s"),
        (f"Warm answer() latency, median of {len(times)}", f"{statistics.median(times):.0f} ms"),
        ("Warm answer() latency, p95", f"{sorted(times)[int(0.95 * len(times)) - 1]:.0f} ms"),
    ]
    print("| Measure | Value |\n| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
