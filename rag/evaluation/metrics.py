"""The measures of an evaluation: every metric in ``evals/README.md`` as a function.

Measures depend on nothing that runs an evaluation, so the report (:mod:`.report`) and
the runner (:mod:`.evaluate`) both use them and neither imports the other back.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from rag.evaluation.datasets import EvalQuestion
from rag.reading.answer import Answer
from rag.reading.judge import judge

_MARKERS = re.compile(r"(?:\s*\[\d+\])+")
_STATEMENT = re.compile(r"(?P<body>.+?)(?P<marks>(?:\s*\[\d+\])+)[.!?\"'”’)]*(?:\s+|$)", re.S)


# --- answer correctness (SQuAD-style normalisation) ---


def normalize(text: str) -> str:
    """Lower case, no citation markers, punctuation or articles, single spaces."""
    text = _MARKERS.sub(" ", text).lower()
    text = "".join(" " if ch in string.punctuation or ch in "“”‘’" else ch for ch in text)
    return " ".join(w for w in text.split() if w not in {"a", "an", "the"})


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> bool:
    """Whether the normalised gold answer occurs, as whole words, in the normalised answer."""
    return f" {normalize(gold)} " in f" {normalize(prediction)} "


# --- citations ---


def statements(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into statements, each with the citation numbers that close it.

    Text after the last marker forms a statement with no citations (it counts against
    citation recall).
    """
    found: list[tuple[str, list[int]]] = []
    end = 0
    for m in _STATEMENT.finditer(text):
        found.append((m.group("body").strip(), [int(n) for n in re.findall(r"\d+", m["marks"])]))
        end = m.end()
    rest = text[end:].strip()
    if rest:
        found.append((rest, []))
    return found


def lexically_supports(premise: str, claim: str) -> bool:
    """The word-level judge (:func:`rag.reading.judge.judge`)."""
    return judge(premise, claim).supported


def citation_support(
    answer: Answer, supports: Callable[[str, str], bool] = lexically_supports
) -> tuple[int, int, int, int]:
    """ALCE citation recall and precision counts for one answer, by the judge
    ``supports(premise, claim)``.

    Returns (statements, supported statements, citations, precise citations). A statement
    is supported when its cited passages, joined, support it. A citation is precise when
    its statement is supported and the citation is needed: it supports the statement on
    its own, or the others without it do not.
    """
    passage_text = {p.id: p.text for p in answer.passages}
    evidence = {c.number: passage_text.get(c.passage_id, c.quote) for c in answer.citations}
    n_statements = n_supported = n_citations = n_precise = 0
    for claim, numbers in statements(answer.text):
        cited = [evidence[n] for n in numbers if n in evidence]
        n_statements += 1
        n_citations += len(numbers)
        if not cited or not supports(" ".join(cited), claim):
            continue
        n_supported += 1
        for i, premise in enumerate(cited):
            others = cited[:i] + cited[i + 1 :]
            alone = supports(premise, claim)
            if alone or not others or not supports(" ".join(others), claim):
                n_precise += 1
    return n_statements, n_supported, n_citations, n_precise


# --- gold locations ---


def covers(start: int, end: int, gold_start: int, gold_end: int) -> bool:
    """A range covers a gold span when it holds at least half of the span's characters."""
    overlap = min(end, gold_end) - max(start, gold_start)
    return overlap * 2 >= gold_end - gold_start > 0


@dataclass(frozen=True)
class Location:
    """Where the gold is: a span of a source, or (``start < 0``) a whole source."""

    source: str
    start: int = -1
    end: int = -1

    def hit(self, source: str, start: int, end: int) -> bool:
        return source == self.source and (
            self.start < 0 or covers(start, end, self.start, self.end)
        )


def gold_locations(question: EvalQuestion, texts: dict[str, str]) -> list[Location]:
    """Gold spans when the dataset has them, otherwise its gold sources as whole documents."""
    if not question.spans:
        return [Location(source) for source in question.gold_sources]
    locations = []
    for span in question.spans:
        start = texts[span.source].find(span.text)
        locations.append(Location(span.source, start, start + len(span.text)))
    return locations


def first_hit(ranked: Iterable[tuple[str, int, int]], gold: list[Location]) -> int | None:
    """1-based rank of the first retrieved range that hits any gold location."""
    for rank, (source, start, end) in enumerate(ranked, start=1):
        if any(g.hit(source, start, end) for g in gold):
            return rank
    return None


# --- one question ---


@dataclass
class QuestionResult:
    """Everything measured for one question, kept for the per-question report."""

    id: str
    question: str
    type: str
    split: str
    answerable: bool
    answer: str
    abstained: bool
    score: float | None
    citations: list[dict]
    gold_answers: list[str]
    gold_spans: list[str]
    rank: int | None
    bm25_rank: int | None
    f1: float
    em: bool
    fact_recall: float
    contains_answer: bool
    statements: int
    supported_statements: int
    n_citations: int
    precise_citations: int
    gold_cited_any: bool
    gold_cited_all: bool
    quotes_exact: int
    latency_ms: float
    supported_statements_model: int = 0
    """As ``supported_statements``, judged by the reading model instead of the words."""
    precise_citations_model: int = 0
    fell_back: bool = False
    """The language model failed and the extractive answerer answered (``Answer.note``)."""
    failures: list[str] = field(default_factory=list)


def measure(
    question: EvalQuestion,
    answer: Answer,
    texts: dict[str, str],
    bm25_ranked: list[tuple[str, int, int]],
    latency_ms: float,
    model_supports: Callable[[str, str], bool] | None = None,
) -> QuestionResult:
    """Everything measured for one answer; ``model_supports`` is the second judge of
    its citations (the reading model), reported beside the word-level one."""
    gold = gold_locations(question, texts)
    golds = list(question.answers)
    cites = answer.citations
    exact = [texts.get(c.source, "")[c.start : c.end] == c.quote for c in cites]
    gold_cited = [any(g.hit(c.source, c.start, c.end) for c in cites) for g in gold]
    n_st, n_sup, n_cit, n_prec = citation_support(answer) if not answer.abstained else (0, 0, 0, 0)
    model_counts = (0, 0, 0, 0)
    if model_supports is not None and not answer.abstained:
        model_counts = citation_support(answer, model_supports)
    result = QuestionResult(
        id=question.id,
        question=question.question,
        type=question.type,
        split=question.split,
        answerable=question.answerable,
        answer=answer.text,
        abstained=answer.abstained,
        score=answer.score,
        citations=[
            {
                "number": c.number,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "exact": ok,
            }
            for c, ok in zip(cites, exact, strict=True)
        ],
        gold_answers=golds,
        gold_spans=[s.text for s in question.spans] or list(question.gold_sources),
        rank=first_hit(((p.source, p.start, p.end) for p in answer.passages), gold),
        bm25_rank=first_hit(bm25_ranked, gold),
        f1=max((token_f1(answer.text, g) for g in golds), default=0.0),
        em=any(normalize(answer.text) == normalize(g) for g in golds),
        fact_recall=(sum(contains(answer.text, g) for g in golds) / len(golds)) if golds else 0.0,
        contains_answer=any(contains(answer.text, g) for g in golds),
        statements=n_st,
        supported_statements=n_sup,
        n_citations=n_cit,
        precise_citations=n_prec,
        gold_cited_any=any(gold_cited),
        gold_cited_all=bool(gold_cited) and all(gold_cited),
        quotes_exact=sum(exact),
        latency_ms=latency_ms,
        supported_statements_model=model_counts[1],
        precise_citations_model=model_counts[3],
        fell_back=answer.note is not None,
    )
    result.failures = failures(result)
    return result


def failures(r: QuestionResult) -> list[str]:
    """Why a question counts as failed; empty when it passed."""
    found = []
    if r.fell_back:
        found.append("the language model failed: answered extractively")
    if r.answerable and r.abstained:
        found.append("abstained on an answerable question")
    elif r.answerable and not r.gold_cited_any:
        found.append("no citation covers the gold")
    if not r.answerable and not r.abstained:
        found.append("answered an unanswerable question")
    if r.quotes_exact < len(r.citations):
        found.append("inexact quote")
    if r.supported_statements < r.statements:
        found.append("unsupported statement")
    return found


# --- aggregation ---


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _share(flags: list[bool]) -> float | None:
    return _mean([float(f) for f in flags])


def summarize(results: list[QuestionResult], k: int) -> dict[str, float | int | None]:
    """The headline metrics over a set of results (see evals/README.md)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in results if not r.abstained]
    abstained = [r for r in results if r.abstained]
    n_cit = sum(r.n_citations for r in answered)
    n_quotes = sum(len(r.citations) for r in results)
    latencies = [r.latency_ms for r in results]
    metrics: dict[str, float | int | None] = {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    for name, ranks in (
        ("", [r.rank for r in answerable]),
        ("bm25_", [r.bm25_rank for r in answerable]),
    ):
        for at in sorted({1, 3, k}):
            metrics[f"{name}recall@{at}"] = _share(
                [rank is not None and rank <= at for rank in ranks]
            )
        metrics[f"{name}mrr"] = _mean([1 / rank if rank else 0.0 for rank in ranks])
    statements_total = sum(r.statements for r in answered)
    metrics |= {
        "answer_f1": _mean([r.f1 for r in answerable]),
        "answer_em": _share([r.em for r in answerable]),
        "fact_recall": _mean([r.fact_recall for r in answerable]),
        "contains_answer": _share([r.contains_answer for r in answerable]),
        "citation_recall": (
            sum(r.supported_statements for r in answered) / statements_total
            if statements_total
            else None
        ),
        "citation_precision": sum(r.precise_citations for r in answered) / n_cit if n_cit else None,
        "citation_recall_model": (
            sum(r.supported_statements_model for r in answered) / statements_total
            if statements_total
            else None
        ),
        "citation_precision_model": (
            sum(r.precise_citations_model for r in answered) / n_cit if n_cit else None
        ),
        "gold_coverage": _share([r.gold_cited_any for r in answerable]),
        "gold_coverage_all": _share([r.gold_cited_all for r in answerable]),
        "quote_exactness": sum(r.quotes_exact for r in results) / n_quotes if n_quotes else None,
        "abstention_precision": _share([not r.answerable for r in abstained]),
        "abstention_recall": _share([r.abstained for r in unanswerable]),
        "wrong_abstention_rate": _share([r.abstained for r in answerable]),
        "fallbacks": sum(r.fell_back for r in results),
        "latency_p50_ms": float(np.percentile(latencies, 50)) if latencies else None,
        "latency_p95_ms": float(np.percentile(latencies, 95)) if latencies else None,
    }
    return metrics


CURVE = tuple(round(t, 2) for t in np.arange(0.05, 1.0, 0.05))
"""Thresholds the abstention trade-off is reported at."""


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties not
    split: scores here are continuous)."""
    positive = np.asarray(positive, dtype=bool)
    ranks = np.argsort(np.argsort(score)) + 1
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def abstention_curve(
    scores: Sequence[float | None], answerable: Sequence[bool], thresholds: Iterable[float] = CURVE
) -> list[dict[str, float | None]]:
    """Abstention precision and recall, and the share of answerable questions refused,
    had the answerer abstained below each threshold (a None score always abstains:
    there was nothing to answer with)."""
    score = np.array([-np.inf if s is None else s for s in scores], dtype=float)
    can = np.array(answerable, dtype=bool)
    rows = []
    for threshold in sorted(set(thresholds)):
        abstain = score < threshold
        rows.append(
            {
                "threshold": float(threshold),
                "abstention_precision": _share(list(~can[abstain])),
                "abstention_recall": _share(list(abstain[~can])),
                "wrong_abstention_rate": _share(list(abstain[can])),
            }
        )
    return rows


@dataclass
class EvalRun:
    """One evaluation: the dataset, per-question results and metrics by split and type."""

    dataset: str
    k: int
    results: list[QuestionResult]
    index_report: str
    seconds: float
    answerer: str = "extractive"
    """Who answered: a ``RAG_LLM`` value."""
    compared: list[EvalRun] = field(default_factory=list)
    """Runs of other answerers on the same questions and index, reported beside this one."""

    def metrics(self, keep: Callable[[QuestionResult], bool] = lambda r: True) -> dict:
        return summarize([r for r in self.results if keep(r)], self.k)

    def to_json(self) -> dict:
        splits = sorted({r.split for r in self.results})
        types = sorted({r.type for r in self.results})
        return {
            "dataset": self.dataset,
            "answerer": self.answerer,
            "k": self.k,
            "seconds": round(self.seconds, 1),
            "index": self.index_report,
            "metrics": {
                "all": self.metrics(),
                **{s: self.metrics(lambda r, s=s: r.split == s) for s in splits},
            },
            "by_type": {t: self.metrics(lambda r, t=t: r.type == t) for t in types},
            "questions": [asdict(r) for r in self.results],
            "compared": [run.to_json() for run in self.compared],
        }
