"""PDF: the text layer of every page."""

from __future__ import annotations

import io
import logging

from rag.documents.formats.base import Text, UnreadableFile


def read_pdf(data: bytes) -> Text:
    """The text layer of every page, pages separated by a blank line.

    Encrypted files open only when they need no password (many are encrypted with an
    empty one); a scanned PDF with no text layer is reported as such.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # damaged files are reported below
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as err:
        raise UnreadableFile(f"damaged PDF ({type(err).__name__}: {err})") from None
    except NotImplementedError as err:  # e.g. an encryption algorithm pypdf lacks
        raise UnreadableFile(f"unsupported PDF ({err})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise UnreadableFile("PDF without a text layer (scanned pages?)")
    return Text(text, "pdf")
