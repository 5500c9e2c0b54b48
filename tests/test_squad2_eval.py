"""evals/squad2_eval.py: the reader measured on SQuAD 2.0 articles through RAG.answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, load_script, run_script

SCRIPT = REPO / "evals" / "squad2_eval.py"


def row(answerable: bool, abstained: bool, hits: list[bool]) -> dict:
    return {"answerable": answerable, "abstained": abstained, "score": 0.5, "hits": hits}


def test_figures_count_abstentions_and_how_precise_the_answers_are() -> None:
    rows = [
        row(True, False, [True, False]),  # answered, gold first, one of two precise
        row(True, False, [False, True]),  # answered, gold second
        row(True, True, []),  # a wrong abstention
        row(True, False, [False]),  # answered without citing gold
        row(False, True, []),  # abstained as it should
        row(False, False, [False]),  # answered an unanswerable question
    ]
    found = load_script(SCRIPT).figures(rows)
    assert found["unanswerable_abstained"] == 0.5
    assert found["answered_citing_gold"] == 0.5
    assert found["wrong_abstentions"] == 0.25
    # of the three answered answerable questions: 2 of their 5 citations hold gold,
    # and one of them leads with it
    assert found["answer_precision"] == 0.4
    assert found["first_sentence_gold"] == 0.3333
    assert found["citations_per_answer"] == 1.67


def test_a_quote_holds_an_answer_whatever_its_case_and_punctuation() -> None:
    holds = load_script(SCRIPT).holds
    assert holds("It lies in France, by the sea.", ["france"])
    assert not holds("It lies in Spain.", ["France", "the sea"])


@pytest.mark.slow
def test_the_eval_asks_a_splits_questions_through_the_product(tmp_path: Path) -> None:
    out = run_script(
        str(SCRIPT), "--split", "dev", "--limit", "12", "--index-dir", str(tmp_path / "index")
    )
    found = json.loads(out[: out.rindex("}") + 1])
    assert found["split"] == "dev" and len(found["articles"]) == 2
    assert found["questions"] == 12
    assert 0.0 <= found["answered_citing_gold"] <= 1.0


def test_combined_rows_lead_with_the_passage_readers_sentence_and_keep_its_decision() -> None:
    combined = load_script(SCRIPT).combined
    read = [
        {"question": "a", "abstained": False, "quotes": ["It opened in 1985."], "hits": [True]},
        {"question": "b", "abstained": True, "quotes": ["Entry is free."], "hits": [False]},
    ]
    answered = [
        {
            "question": "a",
            "quotes": ["The museum.", "It opened in 1985.", "More."],
            "hits": [0, 1, 0],
        },
        {"question": "b", "quotes": ["Entry is free."], "hits": [False]},
    ]
    first, second = combined(read, answered, more=1)
    assert first["quotes"] == ["It opened in 1985.", "The museum."] and first["hits"] == [True, 0]
    assert second["abstained"] and second["quotes"] == [] and second["hits"] == []
    with pytest.raises(ValueError, match="same questions"):
        combined(read, answered[::-1], more=1)
