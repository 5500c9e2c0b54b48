"""HTML: the visible text only, one block element per line."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.documents.formats.base import Text, decode


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
    parser = _VisibleText()
    parser.feed(decoded.text)
    parser.close()
    lines = ("".join([*parser.title, "\n", *parser.parts])).splitlines()
    text = "\n".join(" ".join(line.split()) for line in lines)
    return Text(re.sub(r"\n{3,}", "\n\n", text).strip(), decoded.encoding)
