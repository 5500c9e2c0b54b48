"""What every format reader shares: the text it returns, its error, and byte decoding.

Readers live one per module beside this one and import only from here.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass


class UnreadableFile(ValueError):
    """A file that cannot be turned into text; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Text:
    """A document's text and, when it was not plain UTF-8, how it was decoded."""

    text: str
    encoding: str = "utf-8"


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
