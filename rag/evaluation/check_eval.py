"""How well :meth:`RAG.check` tells supported, contradicted and not-found statements
apart, with the word-level judge beside it on the same retrieved passages.

The statements: ``evals/gold/check.jsonl`` (hand-written paraphrases, contradictions and
claims the article never makes; format in ``evals/gold/README.md``) and every gold span
of the default gold set as it stands in the article (which must come out supported).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.config import PROJECT_ROOT, Settings
from rag.evaluation.datasets import DATA_DIR, GOLD
from rag.pipeline import RAG
from rag.reading.check import Verdict, lexical_verdict

CHECK_GOLD = PROJECT_ROOT / "evals" / "gold" / "check.jsonl"
VERDICTS: tuple[Verdict, ...] = ("supported", "contradicted", "not found")


@dataclass(frozen=True)
class Statement:
    id: str
    split: str
    kind: str
    text: str
    verdict: Verdict
    evidence: str = ""
    """The article's words that decide it (paraphrases and contradictions)."""


@dataclass
class StatementResult:
    id: str
    split: str
    kind: str
    text: str
    gold: Verdict
    model: Verdict
    score: float
    lexical: Verdict
    quotes: list[str]
    quotes_exact: int
    """How many of ``quotes`` are the source's text at their offsets."""


def load_statements(path: Path = CHECK_GOLD, gold: Path = GOLD) -> list[Statement]:
    """The hand-written statements, then the gold set's spans (kind ``gold_span``, each
    once, in the split of the first question citing it)."""
    found = [Statement(**json.loads(line)) for line in path.read_text().splitlines() if line]
    seen: set[str] = set()
    for line in gold.read_text().splitlines():
        question = json.loads(line)
        for span in question["spans"]:
            if span["text"] not in seen:
                seen.add(span["text"])
                n = len(seen)
                found.append(
                    Statement(
                        f"s{n:02d}", question["split"], "gold_span", span["text"], "supported"
                    )
                )
    return found


def summarize(results: list[StatementResult]) -> dict:
    """Accuracy of both judges, overall and per gold verdict, and the model's confusions."""
    if not results:
        return {}
    out: dict = {
        "statements": len(results),
        "model_accuracy": sum(r.model == r.gold for r in results) / len(results),
        "lexical_accuracy": sum(r.lexical == r.gold for r in results) / len(results),
    }
    n_quotes = sum(len(r.quotes) for r in results)
    if n_quotes:
        out["quote_exactness"] = sum(r.quotes_exact for r in results) / n_quotes
    for verdict in VERDICTS:
        some = [r for r in results if r.gold == verdict]
        if some:
            key = verdict.replace(" ", "_")
            out[f"model_{key}"] = sum(r.model == verdict for r in some) / len(some)
            out[f"lexical_{key}"] = sum(r.lexical == verdict for r in some) / len(some)
    out["model_confusion"] = {
        f"{g} -> {m}": n
        for (g, m), n in sorted(Counter((r.gold, r.model) for r in results).items())
    }
    return out


def evaluate_check(
    settings: Settings | None = None, out_dir: Path | None = None, path: Path = CHECK_GOLD
) -> tuple[dict, Path]:
    """Check every statement against the default corpus (in the eval's own index) and
    write ``metrics.json`` and ``report.md`` to ``out_dir``."""
    base = settings or Settings()
    rag = RAG(base.model_copy(update={"index_dir": DATA_DIR / "index" / "check"}))
    started = time.perf_counter()
    rag.ingest(prune=True, wait=600)
    results = []
    for statement in load_statements(path):
        checked = rag.checker.sentence(statement.text)
        lexical = lexical_verdict(statement.text, rag.retrieve(statement.text))
        results.append(
            StatementResult(
                statement.id,
                statement.split,
                statement.kind,
                statement.text,
                statement.verdict,
                checked.verdict,
                checked.score,
                lexical,
                [c.quote for c in checked.citations],
                sum(
                    rag.document_text(c.source)[c.start : c.end] == c.quote
                    for c in checked.citations
                ),
            )
        )
    splits = sorted({r.split for r in results})
    kinds = sorted({r.kind for r in results})
    data = {
        "dataset": "check",
        "seconds": round(time.perf_counter() - started, 1),
        "metrics": {
            "all": summarize(results),
            **{s: summarize([r for r in results if r.split == s]) for s in splits},
        },
        "by_kind": {k: summarize([r for r in results if r.kind == k]) for k in kinds},
        "statements": [asdict(r) for r in results],
    }
    folder = out_dir or PROJECT_ROOT / "evals" / "reports" / "check"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(data, indent=2) + "\n")
    report = folder / "report.md"
    report.write_text(markdown(data))
    return data, report


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown(data: dict) -> str:
    lines = [
        "# Evaluation: check",
        "",
        "Verdicts of `rag check` (the reading model) and of the word-level judge on the same",
        "retrieved passages; the test split is the headline.",
        "",
        "| Split / kind | Statements | Model accuracy | Lexical accuracy |",
        "| --- | ---: | ---: | ---: |",
    ]
    rows = [*data["metrics"].items(), *data["by_kind"].items()]
    for name, m in rows:
        lines.append(
            f"| {name} | {m['statements']} | {_pct(m['model_accuracy'])} "
            f"| {_pct(m['lexical_accuracy'])} |"
        )
    lines += ["", "| Gold verdict | Model | Lexical |", "| --- | ---: | ---: |"]
    m = data["metrics"].get("test", data["metrics"]["all"])
    for verdict in VERDICTS:
        key = verdict.replace(" ", "_")
        lines.append(
            f"| {verdict} | {_pct(m.get(f'model_{key}'))} | {_pct(m.get(f'lexical_{key}'))} |"
        )
    lines += [
        "",
        "## Disagreements with the gold",
        "",
        "| id | split | gold | model | lexical | statement |",
    ]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for r in data["statements"]:
        if r["model"] != r["gold"] or r["lexical"] != r["gold"]:
            text = r["text"].replace("|", "\\|")
            lines.append(
                f"| {r['id']} | {r['split']} | {r['gold']} | {r['model']} ({r['score']:.2f}) "
                f"| {r['lexical']} | {text} |"
            )
    return "\n".join(lines) + "\n"
