"""Citations: exact quotes of a source, numbered in the order the answer uses them."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer.

    ``quote`` is exact text of the document ``source``: ``document_text[start:end] == quote``.
    """

    number: int
    source: str
    quote: str
    start: int
    end: int
    passage_id: str = ""
    score: float = 0.0

    @property
    def marker(self) -> str:
        return f"[{self.number}]"


def attach_marker(sentence: str, markers: str) -> str:
    """Put citation markers before the final punctuation: ``"It rained [1]."``.

    A sentence ending in a closing quote or bracket gets them at the end; one with no
    final punctuation at all (a title) also gets a full stop, so answers read as prose.
    """
    body = sentence.rstrip()
    end = re.search(r"[.!?]+$", body)
    if end is None:
        return f"{body} {markers}" if re.search(r"[\"'”’)\]]$", body) else f"{body} {markers}."
    return f"{body[: end.start()]} {markers}{end.group()}"


def format_sources(citations: list[Citation]) -> str:
    """Numbered list of sources with their quotes, for terminals and chat replies."""
    return "\n".join(f'[{c.number}] {c.source}: "{c.quote}"' for c in citations)
