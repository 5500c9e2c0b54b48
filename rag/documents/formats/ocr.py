"""Text in pictures, read by Tesseract: scanned PDF pages and image files.

Tesseract is a program (Debian's ``tesseract-ocr``, installed by ``scripts/setup.sh``),
run once per picture and reporting each word with its box (its TSV output);
without it such files are skipped with a reason that says how to install it. The same
picture always gives the same text, so citation offsets into it hold; each character
also gets its word's box on the picture, for the viewer's highlight.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from rag.documents.formats.base import UnreadableFile

if TYPE_CHECKING:
    from PIL.Image import Image

LANGUAGE = "eng"
"""Tesseract's language: English, the one language pack the setup script installs."""
TIMEOUT_S = 300
"""A page Tesseract has not read in this time is given up (the file is skipped)."""
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
    return recognise_all(iter([image]))[0]


def recognise_all(images: Iterator[Image]) -> list[Recognised]:
    """:func:`recognise` for each picture, one Tesseract per core at a time; pictures are
    taken from ``images`` only as a Tesseract is free for them, so few are in memory."""
    require()
    workers = max(1, min(os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(workers, thread_name_prefix="ocr") as pool:
        pending: list[Future[Recognised]] = []
        done: list[Recognised] = []
        for image in images:
            if len(pending) >= workers:
                done.append(pending.pop(0).result())
            pending.append(pool.submit(_recognise, _prepared(image)))
        done += [f.result() for f in pending]
    return done


def _prepared(image: Image) -> Image:
    gray = image.convert("L")
    if gray.width < 1600:  # screenshots and small scans: Tesseract reads ~300 dpi text best
        factor = 2 if gray.width >= 800 else 3
        gray = gray.resize((gray.width * factor, gray.height * factor))
    return gray


def _recognise(gray: Image) -> Recognised:
    png = io.BytesIO()
    gray.save(png, format="PNG")
    try:
        run = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", LANGUAGE, "tsv"],
            input=png.getvalue(),
            capture_output=True,
            timeout=TIMEOUT_S,
            # One thread each: Tesseract's own threads ran 7x slower on two busy cores
            # (4.4-5.5 s a page against 0.7 s), and pages are read side by side instead.
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UnreadableFile(f"OCR took longer than {TIMEOUT_S} s for a page") from None
    if run.returncode != 0:
        reason = run.stderr.decode(errors="replace").strip().splitlines()
        raise UnreadableFile(f"OCR failed ({reason[-1] if reason else run.returncode})")
    return _words(run.stdout.decode("utf-8", errors="replace"), gray.width, gray.height)


def _words(tsv: str, width: int, height: int) -> Recognised:
    """Tesseract's TSV (a row per word, with its block, paragraph and box) as text."""
    parts: list[str] = []
    boxes: list[Box | None] = []
    last: tuple[str, str] | None = None  # (block, paragraph) of the word before
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip() or float(cells[10]) < 0:
            continue
        word = cells[11].strip()
        where = (cells[2], cells[3])
        if last is not None:
            parts.append(" " if where == last else "\n")
            boxes.append(None)
        last = where
        left, top, w, h = (int(c) for c in cells[6:10])
        parts.append(word)
        boxes.extend(
            [(left / width, top / height, (left + w) / width, (top + h) / height)] * len(word)
        )
    return Recognised("".join(parts), tuple(boxes))
