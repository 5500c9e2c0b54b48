"""What every format reader shares: the text it returns, its error, and byte decoding.

Readers live one per module beside this one and import only from here.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import zipfile
from bisect import bisect_right
from dataclasses import dataclass
from typing import TypeVar


class UnreadableFile(ValueError):
    """A file that cannot be turned into text; the message is the reason shown to the user."""


T = TypeVar("T")

UNITS = ("page", "slide", "sheet")
"""What a document's numbered parts are: PDF pages, PowerPoint slides, workbook sheets."""


@dataclass(frozen=True)
class Layout:
    """Where a document's pages and sections begin in its text, so a citation can name
    the page and the heading a quote sits under ("report.pdf, p. 3, §2.1 Costs").

    ``pages`` holds ``(offset, number)`` and ``sections`` ``(offset, heading path)``, each
    sorted by offset; an entry holds from its offset to the next one. A heading path joins
    the headings above a place with " > " ("Report > 2. Findings > 2.1 Costs"); "" is text
    under no heading.
    """

    pages: tuple[tuple[int, int], ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    unit: str = "page"

    def __bool__(self) -> bool:
        return bool(self.pages or self.sections)

    def page_at(self, offset: int) -> int | None:
        """The page (slide, sheet) holding the character at ``offset``."""
        return _entry_at(self.pages, offset) or None

    def section_at(self, offset: int) -> str | None:
        """The heading path above the character at ``offset``."""
        return _entry_at(self.sections, offset) or None

    def within(self, start: int, end: int) -> Layout:
        """The entries that hold somewhere in ``[start, end)``: what a chunk keeps."""
        return Layout(_clip(self.pages, start, end), _clip(self.sections, start, end), self.unit)

    @classmethod
    def merged(cls, layouts: list[Layout]) -> Layout:
        """The layout of a whole document from those of its chunks."""
        pages = sorted({e for layout in layouts for e in layout.pages})
        sections = sorted({e for layout in layouts for e in layout.sections})
        unit = next((layout.unit for layout in layouts if layout), "page")
        return cls(tuple(pages), tuple(sections), unit)

    def page_start(self, number: int) -> int | None:
        """The offset where page ``number`` begins."""
        return next((o for o, n in self.pages if n == number), None)

    def to_json(self) -> str:
        return json.dumps(
            {"unit": self.unit, "pages": self.pages, "sections": self.sections},
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str | None) -> Layout:
        if not data:
            return cls()
        raw = json.loads(data)
        return cls(
            tuple((int(o), int(n)) for o, n in raw.get("pages", ())),
            tuple((int(o), str(s)) for o, s in raw.get("sections", ())),
            str(raw.get("unit", "page")),
        )


def _entry_at(entries: tuple[tuple[int, T], ...], offset: int) -> T | None:
    i = bisect_right([o for o, _ in entries], offset) - 1
    return entries[i][1] if i >= 0 else None


def _clip(entries: tuple[tuple[int, T], ...], start: int, end: int) -> tuple[tuple[int, T], ...]:
    first = max(0, bisect_right([o for o, _ in entries], start) - 1)
    return tuple(e for e in entries[first:] if e[0] < end)


NO_LAYOUT = Layout()
"""The layout of a document without pages or headings (plain text)."""


@dataclass(frozen=True)
class Text:
    """A document's text, how it was decoded when it was not plain UTF-8, and its layout."""

    text: str
    encoding: str = "utf-8"
    """How a text file was decoded; for other formats their name ("pdf", "docx")."""
    layout: Layout = NO_LAYOUT
    ocr_pages: int = 0
    """How many pages (or pictures) of it were read by OCR."""


class Outline:
    """The headings open at a place in a document, as a path: a heading closes those of
    its level and below."""

    def __init__(self) -> None:
        self._open: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> str | None:
        """The heading path once this heading begins; None for an empty title."""
        title = " ".join(title.split())
        if not title:
            return None
        self._open = [(lv, t) for lv, t in self._open if lv < level] + [(level, title)]
        return " > ".join(t for _, t in self._open)


class TextBuilder:
    """Assembles a document's text piece by piece, noting where pages and sections begin.

    Readers that build their text (Word, PowerPoint, spreadsheets, EPUB, PDF) add pieces
    with the separators they choose, so offsets are exact by construction.
    """

    def __init__(self, unit: str = "page") -> None:
        self.unit = unit
        self._parts: list[str] = []
        self._length = 0
        self._pages: list[tuple[int, int]] = []
        self._sections: list[tuple[int, str]] = []
        self._outline = Outline()

    def __len__(self) -> int:
        return self._length

    def add(self, text: str) -> int:
        """Append ``text``; returns the offset it starts at."""
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        return start

    def page(self, number: int) -> None:
        """Page (slide, sheet) ``number`` begins at the next character added."""
        _mark(self._pages, self._length, number)

    def heading(self, level: int, title: str) -> None:
        """A heading of ``level`` (1 the highest) begins a section at the next character."""
        path = self._outline.enter(level, title)
        if path is not None:
            self.section(path)

    def section(self, path: str) -> None:
        """A section with heading path ``path`` begins at the next character."""
        _mark(self._sections, self._length, path)

    def build(self, encoding: str = "utf-8") -> Text:
        """The text, trailing whitespace dropped, with the layout noted."""
        text = "".join(self._parts).rstrip()
        pages = tuple(e for e in self._pages if e[0] < len(text))
        sections = tuple(e for e in self._sections if e[0] < len(text))
        return Text(text, encoding, Layout(pages, sections, self.unit))


def _mark(entries: list[tuple[int, T]], offset: int, value: T) -> None:
    if entries and entries[-1][0] == offset:  # nothing was added under the previous mark
        entries.pop()
    if not entries or entries[-1][1] != value:
        entries.append((offset, value))


_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MAX_CONTROL_SHARE = 0.01
"""Text where more than this share of characters are control codes is taken for binary."""


def decode(data: bytes) -> Text:
    """Decode text: a byte-order mark wins, then strict UTF-8, then Windows-1252 (Latin-1).

    Text that is not UTF-8 is nearly always Windows-1252 or its subset Latin-1 in the
    documents people keep; statistical detectors misread short Western text as Central
    European, so the rule is fixed and the ingest report names the encoding used.
    Raises UnreadableFile for binary data.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(Text(data.decode(codec), codec.removesuffix("-sig")))
            except UnicodeDecodeError as err:
                raise UnreadableFile(f"broken {codec.upper()} text (byte {err.start})") from None
    if b"\x00" in data[:8192]:
        raise UnreadableFile("binary file (NUL bytes), not text")
    try:
        return _checked(Text(data.decode("utf-8")))
    except UnicodeDecodeError:
        pass
    try:
        return _checked(Text(data.decode("cp1252"), "cp1252"))
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return _checked(Text(data.decode("latin-1"), "latin-1"))


def _checked(text: Text) -> Text:
    sample = text.text[:100_000]
    if sample and len(_CONTROL.findall(sample)) > MAX_CONTROL_SHARE * len(sample):
        raise UnreadableFile("binary file (control characters), not text")
    return text


MAX_UNZIPPED_BYTES = 512 * 2**20
"""An Office or EPUB file may unpack to no more than this: a zip bomb posing as a .docx
is refused before anything is decompressed."""
MAX_ZIP_RATIO = 200
"""Nor may it unpack to more than this many times its size (text compresses ~5-10x)."""


def open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """The zip archive an Office or EPUB file is, checked before it is unpacked.

    A file that is no zip (damaged, or a password-protected Office file, which is an OLE
    container) and one that would unpack past the limits raise UnreadableFile.
    """
    if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE: how Office stores an encrypted file
        raise UnreadableFile(f"password-protected or legacy {kind} file (not readable)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFile(f"damaged {kind} file (not a zip archive)") from None
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_UNZIPPED_BYTES or unpacked > MAX_ZIP_RATIO * max(len(data), 1):
        raise UnreadableFile(
            f"{kind} file would unpack to {unpacked / 2**20:,.0f} MiB from "
            f"{len(data) / 2**20:,.1f} MiB (a zip bomb?); refused"
        )
    return archive
