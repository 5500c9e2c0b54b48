"""Files -> text: one reader per format, each turning a file's bytes into the document text.

Citation offsets point into the text these readers return, so a reader must be
deterministic: the same bytes always give the same text. Adding a format is one function
in :data:`READERS`. A file that cannot be read raises :class:`UnreadableFile` with the
one-line reason the ingest report shows.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path


class UnreadableFile(ValueError):
    """A file that cannot be turned into text; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Text:
    """A document's text and, when it was not plain UTF-8, how it was decoded."""

    text: str
    encoding: str = "utf-8"


# --- plain text in any common encoding ---

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


def read_plain(data: bytes) -> Text:
    """Plain text and Markdown, as written (Markdown is not rendered)."""
    return decode(data)


# --- HTML: the visible text only ---


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


# --- PDF: the text layer ---


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


KEPT_CHANGING = "kept changing while being read; ingest again once it is written"

READERS: dict[str, Callable[[bytes], Text]] = {
    ".txt": read_plain,
    ".md": read_plain,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
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
