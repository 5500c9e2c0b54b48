"""Sentence boundaries with character offsets, so a sentence can be quoted exactly."""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"""[.!?]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")
"""Terminal punctuation (with closing quotes or brackets) before a capitalised word."""

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sen rep gov rev no vs etc inc ltd corp co mt "
    "e.g i.e jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _ends_sentence(line: str, match: re.Match[str]) -> bool:
    if match.group()[0] != ".":
        return True
    end = start = match.start()
    while start > 0 and not line[start - 1].isspace():  # what regex's \S means, backwards:
        start -= 1  # a search for r"\S+$" rescanned the line from its start (15 s an ingest)
    if start == end:
        return True
    word = line[start:end].lstrip("\"'“‘([")
    # "U.S." or "J." (initials) and listed abbreviations do not end a sentence.
    if re.fullmatch(r"(?:[A-Za-z]\.)*[A-Z]", word):
        return False
    return word.lower() not in ABBREVIATIONS


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text``, whitespace trimmed.

    Lines are split first (a paragraph or heading never runs into the next), then
    terminal punctuation followed by a capitalised word ends a sentence, except after
    common abbreviations and initials.
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        body = line.group()
        cuts = [m.end() for m in _CANDIDATE.finditer(body) if _ends_sentence(body, m)]
        start = 0
        for end in [*cuts, len(body)]:
            piece = body[start:end]
            if piece.strip():
                left = start + len(piece) - len(piece.lstrip())
                spans.append((line.start() + left, line.start() + left + len(piece.strip())))
            start = end
    return spans
