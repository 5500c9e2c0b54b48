"""Feedback: a rating is one JSON line holding what an eval case needs."""

import json
from pathlib import Path

from rag import Answer, Citation
from rag.serve.feedback import feedback_record, save_feedback

QUOTE = "Kyiv would cede territory."
ANSWER = Answer(
    "What would Kyiv give up?",
    "Kyiv would cede territory [1].",
    [Citation(1, "a.txt", QUOTE, 10, 10 + len(QUOTE))],
    score=0.61,
    rewritten="What would Kyiv give up? (following: What is the plan?)",
)


def test_a_record_holds_the_question_answer_and_citations() -> None:
    record = feedback_record(ANSWER, liked=False, earlier=["What is the plan?"])
    assert record["rating"] == "down"
    assert record["question"] == ANSWER.question
    assert record["earlier_questions"] == ["What is the plan?"]
    assert record["rewritten"] == ANSWER.rewritten
    assert record["answer"] == ANSWER.text
    assert record["citations"] == [
        {
            "number": 1,
            "source": "a.txt",
            "start": 10,
            "end": 10 + len(QUOTE),
            "quote": QUOTE,
            "page": None,
            "section": None,
            "version": "",
        }
    ]


def test_a_like_is_rated_up() -> None:
    assert feedback_record(ANSWER, liked=True, earlier=[])["rating"] == "up"


def test_ratings_are_appended_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    for liked in (True, False):
        save_feedback(path, feedback_record(ANSWER, liked, []))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["rating"] for line in lines] == ["up", "down"]
