"""Feedback on answers: a thumbs up or down, one JSON line each, kept on this machine.

A line holds what is needed to turn a bad answer into an eval case (see
``evals/gold/README.md``): the question, the conversation it followed, the answer and
every citation with its offsets.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.reading.answer import Answer

_lock = threading.Lock()


def feedback_record(answer: Answer, liked: bool, earlier: list[str]) -> dict[str, Any]:
    """The JSON object stored for a rating of ``answer``."""
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": "up" if liked else "down",
        "question": answer.question,
        "earlier_questions": earlier,
        "rewritten": answer.rewritten,
        "answer": answer.text,
        "abstained": answer.abstained,
        "score": answer.score,
        "citations": [c.record() for c in answer.citations],
    }


def save_feedback(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line (whole lines only, also from concurrent chats)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _lock, path.open("a", encoding="utf-8") as out:
        out.write(line)
