"""The gold set is well formed: exact spans, consistent fields, the promised mix of types."""

import json
from collections import Counter

import pytest

from rag.evaluate import GOLD
from tests.conftest import CORPUS

ROWS = [json.loads(line) for line in GOLD.read_text().splitlines() if line.strip()]
ANSWERABLE_TYPES = {"factual", "paraphrase", "multi", "false_premise"}
UNANSWERABLE_TYPES = {"unanswerable", "off_topic", "injection"}
MINIMUM = {
    "factual": 10,
    "paraphrase": 10,
    "multi": 6,
    "false_premise": 5,
    "unanswerable": 11,
    "off_topic": 3,
    "injection": 2,
}


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_every_row_has_the_documented_fields(row: dict) -> None:
    assert set(row) == {"id", "split", "type", "question", "answerable", "answers", "spans"}
    assert row["split"] in {"dev", "test"}
    assert row["type"] in ANSWERABLE_TYPES | UNANSWERABLE_TYPES
    assert row["answerable"] is (row["type"] in ANSWERABLE_TYPES)
    assert isinstance(row["question"], str) and row["question"].strip()


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_answerable_rows_have_answers_and_exact_spans_and_others_none(row: dict) -> None:
    if not row["answerable"]:
        assert row["answers"] == [] and row["spans"] == []
        return
    assert row["answers"] and row["spans"]
    for span in row["spans"]:
        assert span["text"] in (CORPUS / span["source"]).read_text()


def test_ids_are_unique() -> None:
    assert len({r["id"] for r in ROWS}) == len(ROWS)


def test_every_type_has_its_minimum_count() -> None:
    counts = Counter(r["type"] for r in ROWS)
    assert all(counts[t] >= n for t, n in MINIMUM.items()), counts
    assert len(ROWS) >= 50 and sum(not r["answerable"] for r in ROWS) >= 12


def test_every_type_appears_in_both_splits() -> None:
    pairs = {(r["type"], r["split"]) for r in ROWS}
    assert all((t, s) in pairs for t in MINIMUM for s in ("dev", "test"))
