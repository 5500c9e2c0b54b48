"""Metric definitions of evals/README.md, checked on hand-made cases."""

import json
import tomllib
from pathlib import Path

import numpy as np

from rag import Answer, Citation, Passage
from rag.evaluation.datasets import EvalQuestion, GoldSpan
from rag.evaluation.evaluate import THRESHOLDS, check_floors
from rag.evaluation.metrics import (
    EvalRun,
    abstention_curve,
    auc,
    citation_support,
    contains,
    covers,
    measure,
    normalize,
    statements,
    summarize,
    token_f1,
)
from rag.evaluation.report import answerers_table, curve_table, markdown

DOC = "Alpha met Beta in Paris. They signed a deal on 3 May. Nobody else came."
TEXTS = {"doc.txt": DOC}
SENTENCES = ["Alpha met Beta in Paris.", "They signed a deal on 3 May.", "Nobody else came."]


def cite(n: int, sentence: str, passage: Passage | None = None) -> Citation:
    start = DOC.index(sentence)
    return Citation(
        n, "doc.txt", sentence, start, start + len(sentence), passage.id if passage else ""
    )


def question(answerable: bool = True, **kw) -> EvalQuestion:
    fields = {
        "id": "q1",
        "question": "Where did Alpha meet Beta?",
        "answerable": answerable,
        "answers": ("Paris",) if answerable else (),
        "spans": (GoldSpan("doc.txt", SENTENCES[0]),) if answerable else (),
        "gold_sources": ("doc.txt",) if answerable else (),
        "type": "factual",
        "split": "test",
    }
    return EvalQuestion(**(fields | kw))


def test_normalize_drops_markers_punctuation_and_articles() -> None:
    assert normalize("The deal, in Paris [1][2].") == "deal in paris"


def test_token_f1_is_one_for_the_same_words_and_zero_for_none_shared() -> None:
    assert token_f1("in Paris [1].", "Paris in") == 1.0
    assert token_f1("Rome", "Paris") == 0.0


def test_contains_matches_whole_words_only() -> None:
    assert contains("They met in Paris [1].", "paris")
    assert not contains("They met in Parisville [1].", "Paris")


def test_statements_split_at_marker_groups_and_keep_uncited_tails() -> None:
    text = "Alpha met Beta [1]. They signed [1][2]. And more"
    assert statements(text) == [("Alpha met Beta", [1]), ("They signed", [1, 2]), ("And more", [])]


def test_covers_needs_half_of_the_gold_span() -> None:
    assert covers(0, 10, 5, 15)
    assert not covers(0, 10, 6, 20)


def test_citation_support_counts_needed_citations_only() -> None:
    passage = Passage("p1", "doc.txt", DOC, 0, len(DOC), 0.9)
    unrelated = Passage("p2", "other.txt", "Cats sleep a lot.", 0, 17, 0.1)
    answer = Answer(
        "q",
        "Alpha met Beta in Paris [1][2].",
        [
            cite(1, SENTENCES[0], passage),
            Citation(2, "other.txt", "Cats sleep a lot.", 0, 17, "p2"),
        ],
        passages=[passage, unrelated],
    )
    assert citation_support(answer) == (1, 1, 2, 1)


def test_an_unsupported_statement_counts_against_recall_and_precision() -> None:
    answer = Answer("q", "Alpha met Gamma in Rome [1].", [cite(1, SENTENCES[0])])
    assert citation_support(answer) == (1, 0, 1, 0)


def test_measure_credits_a_citation_covering_the_gold_span() -> None:
    passage = Passage("p1", "doc.txt", DOC, 0, len(DOC), 0.9)
    answer = Answer(
        "q",
        "Alpha met Beta in Paris [1].",
        [cite(1, SENTENCES[0], passage)],
        passages=[passage],
        score=0.8,
    )
    r = measure(question(), answer, TEXTS, bm25_ranked=[], latency_ms=5.0)
    assert (r.rank, r.gold_cited_any, r.contains_answer, r.quotes_exact) == (1, True, True, 1)
    assert r.failures == []


def test_measure_flags_an_inexact_quote_and_a_missed_gold() -> None:
    elsewhere = DOC.index(SENTENCES[2])
    wrong = Citation(1, "doc.txt", "Alpha met Beta in Rome.", elsewhere, elsewhere + 23)
    answer = Answer("q", "Alpha met Beta in Rome [1].", [wrong])
    r = measure(question(), answer, TEXTS, bm25_ranked=[], latency_ms=5.0)
    assert "inexact quote" in r.failures
    assert "no citation covers the gold" in r.failures


def test_measure_flags_an_answered_unanswerable_question() -> None:
    answer = Answer("q", "Nobody else came [1].", [cite(1, SENTENCES[2])])
    r = measure(question(answerable=False), answer, TEXTS, bm25_ranked=[], latency_ms=1.0)
    assert r.failures == ["answered an unanswerable question"]


def test_summarize_computes_abstention_precision_recall_and_wrong_rate() -> None:
    abstain = Answer("q", "The sources don't say.", abstained=True)
    answered = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])])
    results = [
        measure(question(answerable=False), abstain, TEXTS, [], 1.0),  # right abstention
        measure(question(answerable=False), answered, TEXTS, [], 1.0),  # missed abstention
        measure(question(), abstain, TEXTS, [], 1.0),  # wrong abstention
        measure(question(), answered, TEXTS, [], 1.0),  # right answer
    ]
    m = summarize(results, k=5)
    assert (m["abstention_precision"], m["abstention_recall"], m["wrong_abstention_rate"]) == (
        0.5,
        0.5,
        0.5,
    )
    assert m["gold_coverage"] == 0.5 and m["quote_exactness"] == 1.0


def test_floors_report_each_broken_bound(tmp_path: Path) -> None:
    floors = tmp_path / "thresholds.toml"
    floors.write_text(
        '[demo.min]\n"test.gold_coverage" = 0.9\n"test.quote_exactness" = 1.0\n'
        '[demo.max]\n"test.wrong_abstention_rate" = 0.1\n'
    )
    data = {
        "metrics": {
            "test": {"gold_coverage": 0.8, "quote_exactness": 1.0, "wrong_abstention_rate": 0.2}
        }
    }
    broken = check_floors(data, "demo", floors)
    assert len(broken) == 2
    assert any("gold_coverage" in line for line in broken)
    assert any("wrong_abstention_rate" in line for line in broken)


def test_run_json_has_metrics_per_split_and_type() -> None:
    answered = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])])
    results = [measure(question(split=s), answered, TEXTS, [], 1.0) for s in ("dev", "test")]
    data = EvalRun("demo", 5, results, "index", 1.0).to_json()
    assert set(data["metrics"]) == {"all", "dev", "test"}
    assert data["by_type"]["factual"]["questions"] == 2
    json.dumps(data)  # serialisable as written to metrics.json


def test_the_repository_floors_cover_every_dataset_and_demand_exact_quotes() -> None:
    table = tomllib.loads(THRESHOLDS.read_text())
    assert set(table) >= {"default", "squad", "halueval"}
    assert all(table[name]["min"]["all.quote_exactness"] == 1.0 for name in table)


def test_the_abstention_curve_counts_what_each_threshold_would_refuse() -> None:
    scores = [0.9, 0.4, 0.2, None]  # None: nothing to answer with, refused at any threshold
    answerable = [True, True, False, False]
    low, high = abstention_curve(scores, answerable, [0.3, 0.5])
    assert low == {
        "threshold": 0.3,
        "abstention_precision": 1.0,
        "abstention_recall": 1.0,
        "wrong_abstention_rate": 0.0,
    }
    assert high["abstention_precision"] == 2 / 3 and high["wrong_abstention_rate"] == 0.5


def test_the_report_shows_the_trade_off_with_the_threshold_in_use_in_bold() -> None:
    answered = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])], score=0.8)
    refused = Answer("q", "The sources don't say.", abstained=True, score=0.1)
    results = [
        measure(question(), answered, TEXTS, [], 1.0),
        measure(question(answerable=False), refused, TEXTS, [], 1.0),
    ]
    lines = curve_table(EvalRun("demo", 5, results, "index", 1.0), ("RAG_MIN_SCORE", 0.3))
    assert "| **0.3** | **1.000** | **1.000** | **0.000** |" in lines
    assert "| 0.95 | 0.500 | 1.000 | 1.000 |" in lines


def test_a_set_without_unanswerable_questions_has_no_trade_off_to_show() -> None:
    answered = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])], score=0.8)
    run = EvalRun("demo", 5, [measure(question(), answered, TEXTS, [], 1.0)], "index", 1.0)
    assert curve_table(run, None) == [
        "(No unanswerable questions here: no abstention trade-off to show.)"
    ]


def test_a_fallback_to_the_extractive_answer_counts_as_a_failure() -> None:
    fell = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])], note="down")
    result = measure(question(), fell, TEXTS, [], 1.0)
    assert result.fell_back and result.failures == [
        "the language model failed: answered extractively"
    ]
    assert summarize([result], 5)["fallbacks"] == 1


def test_other_answerers_are_reported_side_by_side_on_the_headline_split() -> None:
    right = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])])
    wrong = Answer("q", "Alpha met Beta in Rome [1].", [cite(1, SENTENCES[0])])
    run = EvalRun("demo", 5, [measure(question(), right, TEXTS, [], 1.0)], "index", 1.0)
    llm = EvalRun("demo", 5, [measure(question(), wrong, TEXTS, [], 1.0)], "index", 1.0, "openai:m")
    run.compared.append(llm)
    lines = answerers_table(run, run.to_json(), "all")
    assert "| Metric | `extractive` | `openai:m` |" in lines
    assert "| Citation recall (ALCE) | 1.000 | 0.000 |" in lines
    assert not any("recall@" in line and "Retrieval" in line for line in lines)
    assert "## Questions answered by openai:m, failures first" in markdown(run, run.to_json())


def test_a_single_answerer_has_no_comparison() -> None:
    answered = Answer("q", "Alpha met Beta in Paris [1].", [cite(1, SENTENCES[0])])
    run = EvalRun("demo", 5, [measure(question(), answered, TEXTS, [], 1.0)], "index", 1.0)
    assert answerers_table(run, run.to_json(), "all") == []


def test_auc_is_the_chance_a_positive_outscores_a_negative() -> None:
    positive = np.array([True, False, True, False])
    assert auc(np.array([0.9, 0.1, 0.8, 0.2]), positive) == 1.0
    assert auc(np.array([0.1, 0.9, 0.2, 0.8]), positive) == 0.0
    assert auc(np.array([0.9, 0.5, 0.3, 0.1]), positive) == 0.75  # 0.3 < 0.5 of four pairs
