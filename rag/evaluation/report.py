"""Write an evaluation as files people can read: metrics.json, report.md and two plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.evaluation.metrics import EvalRun, QuestionResult

HEADLINE = [
    ("recall@1", "Retrieval recall@1"),
    ("recall@{k}", "Retrieval recall@{k}"),
    ("mrr", "Retrieval MRR@{k}"),
    ("answer_f1", "Answer token F1"),
    ("answer_em", "Answer exact match"),
    ("fact_recall", "Gold facts in answer"),
    ("contains_answer", "Answer contains a gold answer"),
    ("citation_recall", "Citation recall (ALCE)"),
    ("citation_precision", "Citation precision (ALCE)"),
    ("gold_coverage", "Citations cover a gold span/source"),
    ("gold_coverage_all", "Citations cover every gold span/source"),
    ("quote_exactness", "Quote exactness"),
    ("abstention_precision", "Abstention precision"),
    ("abstention_recall", "Abstention recall"),
    ("wrong_abstention_rate", "Wrong abstentions (answerable)"),
    ("latency_p50_ms", "Latency p50 (ms)"),
    ("latency_p95_ms", "Latency p95 (ms)"),
]


def fmt(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3f}" if abs(value) <= 1 else f"{value:.0f}"


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def cell(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def write(run: EvalRun, out_dir: Path, threshold: tuple[str, float] | None = None) -> Path:
    """Write ``metrics.json``, ``report.md``, ``scores.png`` and ``by_type.png`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = run.to_json()
    (out_dir / "metrics.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    plot_scores(run.results, out_dir / "scores.png", threshold)
    plot_by_type(data["by_type"], out_dir / "by_type.png")
    (out_dir / "report.md").write_text(markdown(run, data, threshold))
    return out_dir / "report.md"


def markdown(run: EvalRun, data: dict, threshold: tuple[str, float] | None = None) -> str:
    k = run.k
    columns = [c for c in ("test", "dev", "all") if c in data["metrics"]]
    overall = data["metrics"]["all"]
    lines = [
        f"# Evaluation: {run.dataset}",
        "",
        f"{overall['questions']} questions ({overall['answerable']} answerable, "
        f"{overall['unanswerable']} not), k = {k}, answered by `{run.answerer}`, "
        f"{data['seconds']} s. Index: {run.index_report}.",
        "",
        "Metric definitions: `evals/README.md`."
        + (
            " The test split is the headline; dev questions may have been looked at."
            if "dev" in columns
            else ""
        ),
        "",
        "## Summary",
        "",
        "| Metric | " + " | ".join(columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    for key, label in HEADLINE:
        key, label = key.format(k=k), label.format(k=k)
        lines.append(row(label, *(fmt(data["metrics"][c].get(key)) for c in columns)))
    lines += answerers_table(run, data, columns[0])
    lines += [
        "",
        "## Retrieval against a plain BM25 on the same chunks",
        "",
        f"| Retriever | recall@1 | recall@3 | recall@{k} | MRR@{k} |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, prefix in (("rag (dense)", ""), ("BM25", "bm25_")):
        metrics = ("recall@1", "recall@3", f"recall@{k}", "mrr")
        lines.append(row(name, *(fmt(overall.get(prefix + m)) for m in metrics)))
    lines += [
        "",
        "## By question type",
        "",
        "![metrics by question type](by_type.png)",
        "",
        "| Type | Questions | Gold covered | Contains answer | Abstained (unanswerable) "
        "| Wrong abstentions | Citation recall |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in data["by_type"].items():
        values = [
            m["questions"],
            m["gold_coverage"],
            m["contains_answer"],
            m["abstention_recall"],
            m["wrong_abstention_rate"],
            m["citation_recall"],
        ]
        lines.append(row(name, *(fmt(v) for v in values)))
    lines += [
        "",
        "## Where an abstention threshold belongs",
        "",
        "The answerer's evidence score (`Answer.score`: the abstention model's confidence, "
        "or with `RAG_ABSTENTION=cosine` the best sentence's cosine similarity) for "
        "answerable and unanswerable questions; the line is the threshold in use.",
        "",
        "![score distributions](scores.png)",
        "",
        *curve_table(run, threshold),
        "",
        "## Questions, failures first",
        "",
        *question_table(run.results),
    ]
    for other in run.compared:
        lines += ["", f"## Questions answered by {other.answerer}, failures first", ""]
        lines += question_table(other.results)
    return "\n".join(lines) + "\n"


ANSWER_METRICS = [(key, label) for key, label in HEADLINE if "recall@" not in key and key != "mrr"]
"""What differs between answerers on the same passages: all but retrieval."""


def answerers_table(run: EvalRun, data: dict, split: str) -> list[str]:
    """The answer and citation metrics of each answerer side by side (none when only one
    answered), on ``split`` (the headline)."""
    if not run.compared:
        return []
    runs = [data, *(other.to_json() for other in run.compared)]
    names = [f"`{r['answerer']}`" for r in runs]
    lines = [
        "",
        f"## Answerers compared ({split} split, same questions and passages)",
        "",
        "| Metric | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    for key, label in [*ANSWER_METRICS, ("fallbacks", "Fell back to extractive")]:
        lines.append(row(label, *(fmt(r["metrics"][split].get(key)) for r in runs)))
    return lines


def question_table(results: list[QuestionResult]) -> list[str]:
    lines = [
        "| Id | Type | Split | Question | Answer | Citations | Gold | Failure |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(results, key=lambda r: (not r.failures, r.id)):
        citations = " ".join(
            f"[{c['number']}] {c['source']}:{c['start']}-{c['end']}" for c in r.citations
        )
        gold = " / ".join(r.gold_answers) or "(not answerable)"
        if r.gold_spans:
            gold += " — " + " / ".join(f"“{span}”" for span in r.gold_spans)
        lines.append(
            f"| {r.id} | {r.type} | {r.split} | {cell(r.question)} | {cell(r.answer)} | "
            f"{cell(citations)} | {cell(gold, 240)} | {cell('; '.join(r.failures)) or 'ok'} |"
        )
    return lines


def curve_table(run: EvalRun, threshold: tuple[str, float] | None) -> list[str]:
    """The abstention trade-off had the answerer abstained below each threshold, on the
    test split when there is one (the row in use in bold)."""
    from rag.evaluation.metrics import CURVE, abstention_curve

    test = [r for r in run.results if r.split == "test"] or run.results
    if all(r.answerable for r in test):
        return ["(No unanswerable questions here: no abstention trade-off to show.)"]
    used = threshold[1] if threshold else None
    rows = abstention_curve(
        [r.score for r in test],
        [r.answerable for r in test],
        [*CURVE, *([] if used is None else [used])],
    )
    lines = [
        "| Abstain below | Abstention precision | Abstention recall | Wrong abstentions |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        cells = [f"{r['threshold']:g}", *(fmt(r[k]) for k in list(r)[1:])]
        if r["threshold"] == used:
            cells = [f"**{c}**" for c in cells]
        lines.append(row(*cells))
    return lines


def pyplot():
    """matplotlib's pyplot drawing to files; it comes with the ``eval`` extra."""
    try:
        import matplotlib
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "the eval report's plots need matplotlib: pip install 'rag[eval]'", name=err.name
        ) from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scores(
    results: list[QuestionResult], path: Path, threshold: tuple[str, float] | None
) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for answerable, label, color in (
        (True, "answerable", "tab:blue"),
        (False, "unanswerable", "tab:red"),
    ):
        scores = [r.score for r in results if r.answerable is answerable and r.score is not None]
        if scores:
            ax.hist(scores, bins=20, range=(-0.1, 1.0), alpha=0.6, label=label, color=color)
    if threshold is not None:
        name, value = threshold
        ax.axvline(value, color="black", linestyle="--", label=f"{name} = {value:g}")
    ax.set_xlabel("evidence score (Answer.score)")
    ax.set_ylabel("questions")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_by_type(by_type: dict[str, dict], path: Path) -> None:
    plt = pyplot()

    names = list(by_type)
    series = [
        ("gold_coverage", "gold covered"),
        ("abstention_recall", "abstained (unanswerable)"),
        ("wrong_abstention_rate", "wrong abstentions"),
    ]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(series)
    for i, (key, label) in enumerate(series):
        values = [by_type[n][key] or 0.0 for n in names]
        ax.bar([x + i * width for x in range(len(names))], values, width, label=label)
    ax.set_xticks([x + width for x in range(len(names))], names, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
