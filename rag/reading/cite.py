"""Citations: exact quotes of a source, numbered in the order the answer uses them."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from rag.retrieve import Passage

UNIT_LABELS = {"page": "p.", "slide": "slide", "sheet": "sheet"}


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer.

    ``quote`` is exact text of the document ``source``: ``document_text[start:end] == quote``.
    ``page`` is the page it is on (the slide of a presentation, the sheet of a workbook,
    as ``unit`` says) and ``section`` the headings above it ("Report > 2.1 Costs"), where
    the document has them.
    """

    number: int
    source: str
    quote: str
    start: int
    end: int
    passage_id: str = ""
    score: float = 0.0
    page: int | None = None
    section: str | None = None
    unit: str = "page"
    version: str = ""
    """The content hash of the document version the quote is from (``Chunk.version``):
    a saved answer reopened after its document changed can say so."""

    @classmethod
    def of(cls, number: int, passage: Passage, start: int, end: int, score: float) -> Citation:
        """The citation of ``document_text[start:end]``, which lies in ``passage``, with
        the page and section it is on."""
        if not passage.start <= start <= end <= passage.end:
            raise ValueError(f"[{start}, {end}) is not inside the passage {passage.id}")
        layout = passage.layout
        return cls(
            number,
            passage.source,
            passage.text[start - passage.start : end - passage.start],
            start,
            end,
            passage.id,
            score,
            layout.page_at(start),
            layout.section_at(start),
            layout.unit,
            passage.version,
        )

    @property
    def marker(self) -> str:
        return f"[{self.number}]"

    def record(self) -> dict[str, str | int | None]:
        """The citation as plain data, for programs and records: number, source, quote,
        its offsets, page and section, and the version of the document it quotes."""
        return {
            "number": self.number,
            "source": self.source,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "section": self.section,
            "version": self.version,
        }

    def saved(self) -> dict[str, Any]:
        """Everything the citation holds, as plain data: :meth:`from_saved` restores it."""
        return asdict(self)

    @classmethod
    def from_saved(cls, data: dict[str, Any]) -> Citation:
        """The citation :meth:`saved` gave (fields it did not know of yet left at their
        defaults, fields no longer known ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def location(self) -> str:
        """Where the quote is, for people: "report.pdf, p. 3, §2.1 Costs"."""
        parts = [self.source]
        if self.page is not None:
            parts.append(f"{UNIT_LABELS.get(self.unit, self.unit)} {self.page}")
        if self.section:
            parts.append(f"§{self.section.rsplit(' > ', 1)[-1]}")
        return ", ".join(parts)


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
    return "\n".join(f'[{c.number}] {c.location}: "{c.quote}"' for c in citations)
