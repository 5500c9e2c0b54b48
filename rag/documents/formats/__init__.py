"""Files -> text: one reader per format, each in its own module, turning a file's bytes
into the document text.

Citation offsets point into the text these readers return, so a reader must be
deterministic: the same bytes always give the same text. Adding a format is one module
and one entry in :data:`READERS`. A file that cannot be read raises
:class:`UnreadableFile` with the one-line reason the ingest report shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rag.documents.formats.base import NO_LAYOUT, Layout, Text, UnreadableFile, decode
from rag.documents.formats.epub import read_epub
from rag.documents.formats.html import read_html
from rag.documents.formats.image import read_image
from rag.documents.formats.office import read_docx, read_pptx
from rag.documents.formats.pdf import read_pdf
from rag.documents.formats.plain import read_markdown, read_plain
from rag.documents.formats.sheet import read_csv, read_xlsx

__all__ = ["NO_LAYOUT", "READERS", "Layout", "Text", "UnreadableFile", "decode", "read_file"]

KEPT_CHANGING = "kept changing while being read; ingest again once it is written"

READERS: dict[str, Callable[[bytes], Text]] = {
    ".txt": read_plain,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".pptx": read_pptx,
    ".xlsx": read_xlsx,
    ".xlsm": read_xlsx,
    ".csv": read_csv,
    ".tsv": read_csv,
    ".epub": read_epub,
    ".png": read_image,
    ".jpg": read_image,
    ".jpeg": read_image,
    ".tif": read_image,
    ".tiff": read_image,
    ".bmp": read_image,
    ".gif": read_image,
    ".webp": read_image,
}
"""File suffix -> reader of the file's bytes. Adding a format is one entry."""


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def read_file(path: Path, max_bytes: int | None = None) -> Text:
    """Read and decode one file, refusing what cannot be indexed with a clear reason.

    The file is read once; if its size or modification time changed while it was read
    (another program writing it), it is read again, and skipped if it keeps changing, so
    a half-written version is never indexed.
    """
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnreadableFile(f"unsupported format {path.suffix or '(none)'!r}")
    for _ in range(3):
        try:
            before = path.stat()
            if max_bytes is not None and before.st_size > max_bytes:
                raise UnreadableFile(
                    f"too large ({_size(before.st_size)}; the limit is {_size(max_bytes)}, "
                    "RAG_MAX_FILE_MB)"
                )
            data = path.read_bytes()
            after = path.stat()
        except FileNotFoundError:
            raise UnreadableFile("vanished before it could be read") from None
        except OSError as err:
            raise UnreadableFile(f"cannot read: {err.strerror or err}") from None
        if before.st_size == after.st_size == len(data) and (
            before.st_mtime_ns == after.st_mtime_ns
        ):
            return reader(data)
    raise UnreadableFile(KEPT_CHANGING)
