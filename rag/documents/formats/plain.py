"""Plain text and Markdown."""

from __future__ import annotations

from rag.documents.formats.base import Text, decode


def read_plain(data: bytes) -> Text:
    """Plain text and Markdown, as written (Markdown is not rendered)."""
    return decode(data)
