"""Text in pictures, read by Tesseract: scanned PDF pages and image files.

Tesseract is a program (Debian's ``tesseract-ocr``, installed by ``scripts/setup.sh``);
without it such files are skipped with a reason that says how to install it. The same
picture always gives the same text, so citation offsets into it hold; each character
also gets its word's box on the picture, for the viewer's highlight.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rag.documents.formats.base import UnreadableFile

if TYPE_CHECKING:
    from PIL.Image import Image

LANGUAGE = "eng"
"""Tesseract's language: English, the one language pack the setup script installs."""
MAX_PAGES = 500
"""Pictures read by OCR per file at most (about 2 s each on two cores)."""
MISSING = (
    "needs OCR, but Tesseract is not installed "
    "(sudo apt-get install tesseract-ocr tesseract-ocr-eng, or run ./scripts/setup.sh as root)"
)

Box = tuple[float, float, float, float]
"""(left, top, right, bottom) as fractions of the picture's width and height."""


@dataclass(frozen=True)
class Recognised:
    """A picture's text: words joined by spaces, paragraphs by line breaks, and for each
    character the box of its word (None for the spaces and breaks between words)."""

    text: str
    boxes: tuple[Box | None, ...]


@cache
def available() -> bool:
    """Whether Tesseract can be run here."""
    return shutil.which("tesseract") is not None


def require() -> None:
    """Raise UnreadableFile with how to install Tesseract, when it is not installed."""
    if not available():
        raise UnreadableFile(MISSING)


def recognise(image: Image) -> Recognised:
    """Read the text of ``image``: lines of one paragraph joined with spaces (a wrapped
    sentence stays one sentence), paragraphs on lines of their own."""
    import pytesseract

    require()
    gray = image.convert("L")
    if gray.width < 1600:  # screenshots and small scans: Tesseract reads ~300 dpi text best
        factor = 2 if gray.width >= 800 else 3
        gray = gray.resize((gray.width * factor, gray.height * factor))
    try:
        data = pytesseract.image_to_data(gray, lang=LANGUAGE, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError as err:
        raise UnreadableFile(f"OCR failed ({err.message.strip() or err.status})") from None
    width, height = gray.width, gray.height
    parts: list[str] = []
    boxes: list[Box | None] = []
    last: tuple[int, int] | None = None  # (block, paragraph) of the word before
    for n, word in enumerate(data["text"]):
        word = word.strip()
        if not word or float(data["conf"][n]) < 0:
            continue
        where = (data["block_num"][n], data["par_num"][n])
        if last is not None:
            parts.append(" " if where == last else "\n")
            boxes.append(None)
        last = where
        left, top = data["left"][n], data["top"][n]
        box = (
            left / width,
            top / height,
            (left + data["width"][n]) / width,
            (top + data["height"][n]) / height,
        )
        parts.append(word)
        boxes.extend([box] * len(word))
    return Recognised("".join(parts), tuple(boxes))
