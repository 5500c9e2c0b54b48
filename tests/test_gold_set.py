"""The gold set is well formed: documented fields, exact spans, the promised mix of types."""

import json
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
GOLD = REPO / "evals" / "gold" / "default.jsonl"

FIELDS = {"id", "split", "type", "question", "answerable", "answers", "spans"}
SPLITS = {"dev", "test"}
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
MINIMUM_TOTAL = 56
MINIMUM_NOT_ANSWERABLE = 16


def lines() -> list[str]:
    return [line for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def rows() -> list[dict]:
    return [json.loads(line) for line in lines()]


def source_text(source: str, corpus: Path = CORPUS) -> str:
    return (corpus / source).read_bytes().decode("utf-8-sig")


def type_errors(row: dict) -> list[str]:
    """What is wrong with the field types of one row (empty when nothing is)."""
    errors = []
    if not (isinstance(row.get("id"), str) and row["id"].strip()):
        errors.append("id is not a non-empty string")
    if row.get("split") not in SPLITS:
        errors.append(f"split {row.get('split')!r}")
    if row.get("type") not in ANSWERABLE_TYPES | UNANSWERABLE_TYPES:
        errors.append(f"type {row.get('type')!r}")
    if not (isinstance(row.get("question"), str) and row["question"].strip()):
        errors.append("question is not a non-empty string")
    if not isinstance(row.get("answerable"), bool):
        errors.append("answerable is not a bool")
    answers = row.get("answers")
    if not (isinstance(answers, list) and all(isinstance(a, str) and a.strip() for a in answers)):
        errors.append("answers is not a list of non-empty strings")
    spans = row.get("spans")
    if not (
        isinstance(spans, list)
        and all(
            isinstance(s, dict)
            and set(s) == {"source", "text"}
            and isinstance(s["source"], str)
            and isinstance(s["text"], str)
            and s["text"].strip()
            for s in spans
        )
    ):
        errors.append("spans is not a list of {source, text} string objects")
    return errors


def span_errors(row: dict, corpus: Path = CORPUS) -> list[str]:
    """Spans of one row that are not exact substrings of their source file."""
    errors = []
    for span in row["spans"]:
        path = corpus / span["source"]
        if not path.is_file():
            errors.append(f"{row['id']}: no corpus file {span['source']!r}")
        elif span["text"] not in source_text(span["source"], corpus):
            errors.append(f"{row['id']}: not in {span['source']}: {span['text'][:60]!r}")
    return errors


def test_every_line_parses_as_a_json_object() -> None:
    bad = []
    for number, line in enumerate(lines(), 1):
        try:
            if not isinstance(json.loads(line), dict):
                bad.append(number)
        except json.JSONDecodeError:
            bad.append(number)
    assert bad == [], f"lines that are not JSON objects: {bad}"


def test_every_row_has_exactly_the_documented_fields() -> None:
    bad = {r.get("id"): sorted(set(r) ^ FIELDS) for r in rows() if set(r) != FIELDS}
    assert bad == {}, bad


def test_every_field_has_its_documented_type() -> None:
    bad = {r.get("id"): type_errors(r) for r in rows() if type_errors(r)}
    assert bad == {}, bad


def test_a_row_with_a_wrong_type_is_reported() -> None:
    row = {
        "id": "x",
        "split": "train",
        "type": "factual",
        "question": "?",
        "answerable": "yes",
        "answers": ["a"],
        "spans": [{"source": "s"}],
    }
    assert len(type_errors(row)) == 3


def test_ids_are_unique() -> None:
    counts = Counter(r["id"] for r in rows())
    assert [i for i, n in counts.items() if n > 1] == []


def test_answerable_flag_follows_the_type() -> None:
    bad = [r["id"] for r in rows() if r["answerable"] is not (r["type"] in ANSWERABLE_TYPES)]
    assert bad == []


def test_every_span_is_an_exact_substring_of_its_corpus_file() -> None:
    errors = [e for r in rows() for e in span_errors(r)]
    assert errors == []


def test_a_span_missing_from_the_source_is_reported(tmp_path: Path) -> None:
    (tmp_path / "doc.txt").write_text("The sky is blue.\n", encoding="utf-8")
    good = {"id": "g", "spans": [{"source": "doc.txt", "text": "The sky is blue."}]}
    altered = {"id": "a", "spans": [{"source": "doc.txt", "text": "The sky is green."}]}
    missing = {"id": "m", "spans": [{"source": "other.txt", "text": "The sky is blue."}]}
    assert span_errors(good, tmp_path) == []
    assert len(span_errors(altered, tmp_path)) == 1
    assert len(span_errors(missing, tmp_path)) == 1


def test_answerable_questions_have_answers_and_spans() -> None:
    bad = [r["id"] for r in rows() if r["answerable"] and not (r["answers"] and r["spans"])]
    assert bad == []


def test_unanswerable_questions_have_no_answers_or_spans() -> None:
    bad = [r["id"] for r in rows() if not r["answerable"] and (r["answers"] or r["spans"])]
    assert bad == []


def test_every_type_meets_its_minimum_count() -> None:
    counts = Counter(r["type"] for r in rows())
    short = {t: counts[t] for t, n in MINIMUM.items() if counts[t] < n}
    assert short == {}, f"below minimum {MINIMUM}: {short}"


def test_the_set_meets_its_total_and_not_answerable_minimums() -> None:
    all_rows = rows()
    assert len(all_rows) >= MINIMUM_TOTAL
    assert sum(not r["answerable"] for r in all_rows) >= MINIMUM_NOT_ANSWERABLE


def test_both_splits_hold_answerable_and_unanswerable_questions() -> None:
    pairs = {(r["split"], r["answerable"]) for r in rows()}
    assert pairs == {(s, a) for s in SPLITS for a in (True, False)}


def test_every_type_appears_in_both_splits() -> None:
    pairs = {(r["type"], r["split"]) for r in rows()}
    missing = [(t, s) for t in MINIMUM for s in sorted(SPLITS) if (t, s) not in pairs]
    assert missing == []


# --- the statements of `rag check` (check.jsonl) ---

CHECK_GOLD = REPO / "evals" / "gold" / "check.jsonl"
VERDICT_OF = {"paraphrase": "supported", "contradiction": "contradicted", "not_found": "not found"}


def statements() -> list[dict]:
    return [json.loads(line) for line in CHECK_GOLD.read_text(encoding="utf-8").splitlines()]


def test_check_statements_have_the_documented_fields_and_unique_ids() -> None:
    found = statements()
    for row in found:
        assert set(row) - {"evidence"} == {"id", "split", "kind", "text", "verdict"}, row
        assert row["split"] in SPLITS and row["verdict"] == VERDICT_OF[row["kind"]], row
    assert len({row["id"] for row in found}) == len(found)


def test_check_statements_that_the_article_decides_name_its_exact_words() -> None:
    article = source_text("us-drafted-peace-framework.txt")
    for row in statements():
        assert ("evidence" in row) == (row["kind"] != "not_found"), row
        assert row.get("evidence", "") in article, row


def test_check_statements_of_every_kind_are_in_both_splits() -> None:
    counts = Counter((row["kind"], row["split"]) for row in statements())
    assert all(counts[kind, split] >= 6 for kind in VERDICT_OF for split in SPLITS)
