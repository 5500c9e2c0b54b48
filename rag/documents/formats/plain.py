"""Plain text and Markdown; Markdown keeps its heading structure for citations."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.documents.formats.base import Layout, Outline, Text, decode

_ATX = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r" {0,3}(```|~~~)")


def read_plain(data: bytes) -> Text:
    """Plain text, as written."""
    return decode(data)


def read_markdown(data: bytes) -> Text:
    """Markdown as written (not rendered), with the section each heading begins."""
    decoded = decode(data)
    return replace(decoded, layout=markdown_layout(decoded.text))


def markdown_layout(text: str) -> Layout:
    """Sections of Markdown text: ``#`` headings and underlined (setext) ones, outside
    fenced code blocks; each section begins at its heading's line."""
    outline = Outline()
    sections: list[tuple[int, str]] = []
    fenced = False
    previous = (0, "")  # offset and text of the line before
    for line in re.finditer(r"[^\n]*\n?", text):
        body = line.group().rstrip("\r\n")
        heading: tuple[int, int, str] | None = None  # offset, level, title
        if _FENCE.match(body):
            fenced = not fenced
        elif not fenced and (atx := _ATX.fullmatch(body)):
            heading = (line.start(), len(atx.group(1)), atx.group(2))
        elif (
            not fenced
            and previous[1].strip()
            and (setext := _SETEXT.fullmatch(body))
            and not _ATX.fullmatch(previous[1])
        ):
            heading = (previous[0], 1 if setext.group(1)[0] == "=" else 2, previous[1])
        if heading and (path := outline.enter(heading[1], heading[2])) is not None:
            if sections and sections[-1][0] == heading[0]:
                sections.pop()
            sections.append((heading[0], path))
        previous = (line.start(), body)
    return Layout(sections=tuple(sections))
