"""A page as the reader sees it: a PDF page or a picture rendered, with the boxes of a
quote's characters on it, so a citation can be shown where it stands on the page."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from rag.documents.formats import image, ocr, pdf
from rag.documents.formats.base import UnreadableFile
from rag.documents.formats.ocr import Box

PAGED = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp"})
"""Formats whose pages can be shown as pictures."""
VIEW_DPI = 110
"""A page of a PDF is drawn at this resolution: readable beside the chat, ~150 KB."""


@dataclass(frozen=True)
class PageView:
    """A rendered page (PNG) and the quote's highlight: one box per line it covers."""

    png: bytes
    width: int
    height: int
    boxes: list[Box]


def page_view(path: Path, page: int, start: int, end: int) -> PageView:
    """Page ``page`` (from 1) of the PDF or picture at ``path``, and the boxes of its
    characters ``start`` to ``end``, counted from the page's first character as the
    document text holds it. Raises UnreadableFile when the file cannot be read."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        document = pdf.open_document(data)
        try:
            if not 1 <= page <= len(document):
                raise UnreadableFile(f"{path.name} has no page {page}")
            boxes = pdf.page_text(document, page - 1).boxes
            picture = pdf.render(document[page - 1], VIEW_DPI)
        finally:
            document.close()
    else:
        frames = image.open_frames(data)
        if not 1 <= page <= len(frames):
            raise UnreadableFile(f"{path.name} has no page {page}")
        picture = frames[page - 1]
        boxes = ocr.recognise(picture).boxes
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return PageView(out.getvalue(), picture.width, picture.height, line_boxes(boxes[start:end]))


def line_boxes(boxes: tuple[Box | None, ...]) -> list[Box]:
    """Character boxes merged into one box per run on a line (a quote over two lines is
    two boxes); characters without a box (spaces, breaks) join the run around them."""
    merged: list[Box] = []
    for box in boxes:
        if box is None:
            continue
        if merged and _same_line(merged[-1], box) and box[0] >= merged[-1][0]:
            left, top, right, bottom = merged[-1]
            merged[-1] = (left, min(top, box[1]), max(right, box[2]), max(bottom, box[3]))
        else:
            merged.append(box)
    return merged


def _same_line(a: Box, b: Box) -> bool:
    overlap = min(a[3], b[3]) - max(a[1], b[1])
    return overlap > 0.5 * min(a[3] - a[1], b[3] - b[1])
