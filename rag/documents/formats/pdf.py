"""PDF: the text of every page, kept page by page, scanned pages read by OCR.

PDFium (``pypdfium2``) reads the text layer and knows the box of every character, so
the viewer can draw a quote's highlight on the rendered page; the same library renders
the page. Lines of one paragraph are joined with a space (a sentence wrapped over two
lines stays one quotable sentence); a paragraph break is a line break. The bookmarks
(outline) name the sections.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rag.documents.formats import ocr
from rag.documents.formats.base import Text, TextBuilder, UnreadableFile
from rag.documents.formats.ocr import Box

if TYPE_CHECKING:
    import pypdfium2 as pdfium
    from PIL.Image import Image

OCR_DPI = 300
"""Scanned pages are rendered at this resolution for Tesseract."""
MIN_TEXT_CHARS = 10
"""A page with an image and fewer visible characters than this in its text layer (a page
number, a stamp) is a scan: it is read by OCR."""


@dataclass(frozen=True)
class PageText:
    """One page's text and, for each character, its box on the page."""

    text: str
    boxes: tuple[Box | None, ...]
    ocr: bool = False


def read_pdf(data: bytes) -> Text:
    """Every page's text, pages separated by a blank line, each page and bookmarked
    section noted; pages without a text layer are read by OCR.

    Encrypted files open only when they need no password (many are encrypted with an
    empty one).
    """
    document = _open(data)
    try:
        builder, scanned = _read_pages(document)
    finally:
        document.close()
    if not len(builder):
        found = "no text found by OCR" if scanned else "its pages have no text layer or picture"
        raise UnreadableFile(f"PDF without text ({found})")
    return replace(builder.build("pdf"), ocr_pages=scanned)


def _read_pages(document: pdfium.PdfDocument) -> tuple[TextBuilder, int]:
    """The document's text and how many pages were read by OCR."""
    builder = TextBuilder("page")
    bookmarks = _bookmarks(document)
    pages = pages_text(document, range(len(document)))
    for index, page in enumerate(pages):
        if not page.text:
            continue
        if len(builder):
            builder.add("\n\n")
        builder.page(index + 1)
        marks = sorted(
            (max(0, _find(page.text, title)), level, title)
            for level, title in bookmarks.get(index, [])
        )
        cursor = 0
        for offset, level, title in marks:
            builder.add(page.text[cursor:offset])
            cursor = offset
            builder.heading(level, title)
        builder.add(page.text[cursor:])
    return builder, sum(p.ocr for p in pages)


def page_text(document: pdfium.PdfDocument, index: int) -> PageText:
    """The text of page ``index`` (from 0) exactly as :func:`read_pdf` puts it in the
    document, with its characters' boxes: its text layer, or OCR for a scan."""
    return pages_text(document, [index])[0]


def pages_text(document: pdfium.PdfDocument, indices: Iterable[int]) -> list[PageText]:
    """:func:`page_text` of several pages; the scans among them are read by OCR side by
    side (PDFium itself is used from this thread only: it is not thread-safe)."""
    order = list(indices)
    found: dict[int, PageText] = {}
    scans: list[int] = []
    for index in order:
        page = document[index]
        try:
            layer = _layer_text(page)
            visible = len(layer.text.replace(" ", "").replace("\n", ""))
            if visible < MIN_TEXT_CHARS and _has_image(page):
                scans.append(index)
            else:
                found[index] = layer
        finally:
            page.close()
    if len(scans) > ocr.MAX_PAGES:
        raise UnreadableFile(
            f"{len(scans)} scanned pages: more than {ocr.MAX_PAGES} to read by OCR"
        )
    if scans:
        ocr.require()
        pictures = (_rendered(document, index, OCR_DPI) for index in scans)
        for index, read in zip(scans, ocr.recognise_all(pictures), strict=True):
            found[index] = PageText(read.text, read.boxes, ocr=True)
    return [found[i] for i in order]


def _rendered(document: pdfium.PdfDocument, index: int, dpi: float) -> Image:
    page = document[index]
    try:
        return render(page, dpi)
    finally:
        page.close()


def render(page: pdfium.PdfPage, dpi: float) -> Image:
    """The page as a picture at ``dpi``."""
    return page.render(scale=dpi / 72).to_pil()


def open_document(data: bytes) -> pdfium.PdfDocument:
    """The PDF, opened for its pages (raises UnreadableFile like :func:`read_pdf`)."""
    return _open(data)


def _open(data: bytes) -> pdfium.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            raise UnreadableFile("encrypted PDF (needs a password)") from None
        raise UnreadableFile(f"damaged PDF ({err})") from None


def _bookmarks(document: pdfium.PdfDocument) -> dict[int, list[tuple[int, str]]]:
    """Page index -> (level from 1, title) of the bookmarks that point there."""
    found: dict[int, list[tuple[int, str]]] = {}
    try:
        for mark in document.get_toc(max_depth=6):
            dest = mark.get_dest()
            index = dest.get_index() if dest is not None else None
            title = " ".join((mark.get_title() or "").split())
            if index is not None and title:
                found.setdefault(index, []).append((mark.level + 1, title))
    except Exception:  # a broken outline costs the sections, not the file
        return {}
    return found


def _find(text: str, title: str) -> int:
    """Where a bookmark's title starts on its page (-1 when not found: the page start)."""
    found = text.find(title)
    return found if found >= 0 else text.lower().find(title.lower())


def _has_image(page: pdfium.PdfPage) -> bool:
    import pypdfium2.raw as raw

    return any(True for _ in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2))


def _layer_text(page: pdfium.PdfPage) -> PageText:
    """The text layer, line breaks inside a paragraph turned into spaces."""
    import ctypes

    import pypdfium2.raw as raw_api

    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        raw = textpage.get_text_range(0, count) if count else ""
        if len(raw) != count:  # never seen; one character at a time keeps the boxes aligned
            raw = "".join(textpage.get_text_range(i, 1)[:1] or " " for i in range(count))
        width, height = page.get_size()
        chars: list[_Char] = []
        x, y = ctypes.c_double(), ctypes.c_double()
        for i, char in enumerate(raw):
            left, bottom, right, top = textpage.get_charbox(i)
            if char.isspace() or right <= left or top <= bottom:
                chars.append(_Char(char, None, 0.0, 0.0))
                continue
            raw_api.FPDFText_GetCharOrigin(textpage.raw, i, ctypes.byref(x), ctypes.byref(y))
            size = raw_api.FPDFText_GetFontSize(textpage.raw, i)
            box = (left / width, 1 - top / height, right / width, 1 - bottom / height)
            chars.append(_Char(char, box, y.value, size))
    finally:
        textpage.close()
    return _paragraphs(chars)


@dataclass(frozen=True)
class _Char:
    char: str
    box: Box | None
    baseline: float  # points from the page's bottom
    size: float  # font size in points; 0 for spaces and breaks


@dataclass
class _Line:
    text: str
    boxes: list[Box | None]
    baseline: float
    size: float


def _lines(chars: list[_Char]) -> list[_Line]:
    """The text layer's lines, control characters dropped, each trimmed; empty lines kept
    as ``_Line("")`` (they separate paragraphs)."""
    lines: list[_Line] = []
    text: list[str] = []
    boxes: list[Box | None] = []
    first: _Char | None = None
    i = 0
    while i <= len(chars):
        char = chars[i].char if i < len(chars) else "\n"
        if char in "\r\n":
            body = "".join(text)
            lead = len(body) - len(body.lstrip())
            kept = body.strip()
            lines.append(
                _Line(
                    kept,
                    boxes[lead : lead + len(kept)],
                    first.baseline if first else 0.0,
                    first.size if first else 0.0,
                )
            )
            text, boxes, first = [], [], None
            i += 2 if i + 1 < len(chars) and char == "\r" and chars[i + 1].char == "\n" else 1
            continue
        if char == "\x02":  # PDFium's mark for a hyphen that ends a line
            char = "-"
        elif char in "\t\xa0":
            char = " "
        if char >= " " and char not in "\ufffe\uffff":
            text.append(char)
            boxes.append(chars[i].box)
            if first is None and chars[i].box is not None:
                first = chars[i]
        i += 1
    return lines


def _paragraphs(chars: list[_Char]) -> PageText:
    """Join wrapped lines with a space and keep paragraph breaks (see :func:`_breaks`);
    every kept character keeps its box."""
    lines = _lines(chars)
    gaps = [
        a.baseline - b.baseline
        for a, b in itertools.pairwise(lines)
        if a.text
        and b.text
        and a.size
        and abs(a.size - b.size) < 0.15 * a.size
        and a.baseline > b.baseline
    ]
    spacing = sorted(gaps)[(len(gaps) - 1) // 2] if gaps else 0.0  # the usual line spacing
    out: list[str] = []
    out_boxes: list[Box | None] = []
    previous: _Line | None = None
    for line in lines:
        if not line.text:
            if previous is not None:
                previous = _Line("", [], 0.0, 0.0)  # the next line starts a paragraph
            continue
        if previous is not None:
            out.append("\n" if _breaks(previous, line, spacing) else " ")
            out_boxes.append(None)
        out.append(line.text)
        out_boxes.extend(line.boxes)
        previous = line
    return PageText("".join(out), tuple(out_boxes))


def _breaks(before: _Line, after: _Line, spacing: float) -> bool:
    """Whether ``after`` starts a paragraph rather than continuing ``before``: an empty
    line between them, a change of type size, a list item, a line spacing wider than the
    page's usual one, or a line that does not follow below."""
    if not before.text or not before.size or not after.size:
        return True
    if abs(before.size - after.size) >= 0.15 * before.size:
        return True
    if after.text[:1] in "•◦▪–-*" or after.text.split(" ", 1)[0].rstrip(".)").isdigit():
        return True
    gap = before.baseline - after.baseline
    return gap <= 0 or gap > 1.3 * (spacing or 1.2 * before.size)
