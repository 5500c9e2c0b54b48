"""HTML: the visible text only, one block element per line, headings kept as sections."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.documents.formats.base import Text, TextBuilder, decode

_HEADING = "\ue000"
"""Marks where a heading starts in the collected text (a private-use character)."""
_HEADINGS = {f"h{n}": n for n in range(1, 7)}


class _VisibleText(HTMLParser):
    """Collects the text a browser would show; scripts, styles and markup are dropped."""

    HIDDEN = frozenset({"script", "style", "noscript", "template", "head", "svg", "iframe"})
    BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption figure footer form h1 h2 "
        "h3 h4 h5 h6 header hr li main nav ol p pre section table td th title tr ul".split()
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._hidden: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self.HIDDEN:
            self._hidden.append(tag)
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in _HEADINGS and not self._hidden:
            self.parts.append(f"{_HEADING}{_HEADINGS[tag]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._hidden:  # as a browser shows it: source line breaks are spaces
            self.parts.append(re.sub(r"\s+", " ", data))


def read_html(data: bytes) -> Text:
    """The page's title and visible text, one block element per line."""
    decoded = decode(data)
    builder = TextBuilder()
    add_html(decoded.text, builder)
    return builder.build(decoded.encoding)


def add_html(markup: str, builder: TextBuilder, title: bool = True) -> None:
    """Append the visible text of ``markup`` to ``builder``, one block per line, with no
    run of blank lines; each heading (h1 to h6) begins a section. ``title``: whether the
    page's title comes first."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    lines: list[tuple[str, int]] = []  # text, heading level (0: none)
    for raw in "".join([*(parser.title if title else []), "\n", *parser.parts]).splitlines():
        line = " ".join(raw.split())
        marked = re.match(f"{_HEADING}([1-6]) ?", line)
        level = int(marked.group(1)) if marked else 0
        line = line[marked.end() :] if marked else line
        line = re.sub(f"{_HEADING}[1-6] ?", "", line)
        if line or (lines and lines[-1][0]):  # a blank line only after text
            lines.append((line, level))
    while lines and not lines[-1][0]:
        lines.pop()
    if len(builder):
        builder.add("\n\n")
    for n, (line, level) in enumerate(lines):
        if level:
            builder.heading(level, line)
        builder.add(line if n == len(lines) - 1 else line + "\n")
