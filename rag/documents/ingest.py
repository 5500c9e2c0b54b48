"""Documents -> chunks: find files, read them, split them with exact character offsets.

Nothing here touches the index; :mod:`rag.index.store` keeps chunks, and
:mod:`rag.index.sync` syncs the two.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.documents.formats import NO_LAYOUT, Layout, UnreadableFile, read_file

if TYPE_CHECKING:
    from tokenizers import Tokenizer

TEXT_ENCODINGS = frozenset({"utf-16", "utf-32", "cp1252", "latin-1"})
"""Encodings other than UTF-8 a text file can be read in; the report names them."""

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]
"""Split at paragraphs, then sentences, then clauses, words and finally characters."""


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: ``document_text[start:end] == text``."""

    id: str
    source: str
    text: str
    start: int
    end: int
    path: str = ""
    digest: str = ""
    """Of the whole document as split (see :meth:`Splitter.digest`)."""
    of: int = 0
    """How many chunks the document was split into: an index holding fewer of them (an
    interrupted ingest) is incomplete even when every chunk it holds is current."""
    layout: Layout = NO_LAYOUT
    """The pages and sections of the document that hold within the chunk."""
    version: str = ""
    """The content hash of the document's text (:func:`version_of`): what a citation is
    pinned to, so a saved answer can tell when its document changed."""

    @property
    def metadata(self) -> dict[str, str | int]:
        meta: dict[str, str | int] = {
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "path": self.path,
            "digest": self.digest,
            "of": self.of,
        }
        if self.version:
            meta["version"] = self.version
        if self.layout:
            meta["layout"] = self.layout.to_json()
        return meta


def version_of(text: str) -> str:
    """The content hash of a document's text: its version, whatever the chunking."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chunk_id(source: str, start: int, text: str) -> str:
    """Stable id: the same text at the same place of the same source keeps its id."""
    return hashlib.sha256(f"{source}\x00{start}\x00{text}".encode()).hexdigest()[:32]


@dataclass
class IngestReport:
    """What one ingest changed, per source, with a reason for every skipped file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    decoded: list[tuple[str, str]] = field(default_factory=list)
    """Text files that were not UTF-8, with the encoding they were read in."""
    recognised: list[tuple[str, int]] = field(default_factory=list)
    """Files with pages read by OCR, with how many."""
    chunks_added: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0
    """How long the ingest took, reading to the last write."""
    precision: str | None = None
    """What the added chunks were encoded in ("fp32", "bf16"); None when there were none."""

    @property
    def summary(self) -> str:
        """One line: files read, chunks added, time, throughput, precision."""
        files = len(self.added) + len(self.updated) + len(self.unchanged)
        rate = (
            f", {self.chunks_added / self.seconds:,.1f} chunks/s"
            if self.chunks_added and self.seconds
            else ""
        )
        used = f", {self.precision}" if self.precision else ""
        return (
            f"{_count(files, 'file')}, {_count(self.chunks_added, 'chunk')} embedded in "
            f"{self.seconds:,.1f} s{rate}{used}"
        )

    def __str__(self) -> str:
        lines = [
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped "
            f"({self.chunks_added} chunks added, {self.chunks_removed} removed)"
        ]
        lines += [f"skipped {source}: {reason}" for source, reason in self.skipped]
        lines += [f"read {source} as {encoding}" for source, encoding in self.decoded]
        lines += [f"read {_count(n, 'page')} of {source} by OCR" for source, n in self.recognised]
        return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class Splitter:
    """Splits text into chunks no longer than the embedding model can read.

    Lengths are counted in the model's own word pieces so nothing is silently
    truncated at embedding time; offsets are found in the original text, so every
    chunk is an exact slice of it.
    """

    def __init__(self, tokenizer: Tokenizer, chunk_size: int, chunk_overlap: int):
        # The splitter measures most pieces twice (to split, then to merge): remembering
        # the recent ones halves the splitting time (2% of a large ingest, measured).
        @lru_cache(maxsize=4096)
        def length(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False).ids)

        self._settings = f"{chunk_size}:{chunk_overlap}"
        self._splitter = RecursiveCharacterTextSplitter(
            length_function=length,
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            separators=SEPARATORS,
            keep_separator="end",
        )

    def digest(self, text: str, layout: Layout = NO_LAYOUT) -> str:
        """Fingerprint of ``text``, its layout and the chunking settings: when the index
        holds it, the document's chunks are known to be current without splitting it
        again."""
        shape = f"\x00{layout.to_json()}" if layout else ""
        # "v2": chunks record their document's version since; older ones get relabelled.
        key = f"v2\x00{self._settings}\x00{text}{shape}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def split(
        self, text: str, source: str, path: str = "", layout: Layout = NO_LAYOUT
    ) -> list[Chunk]:
        digest = self.digest(text, layout)
        version = version_of(text)
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(text):
            start = text.find(piece, cursor)
            if start < 0:  # the splitter only strips whitespace, so this cannot happen
                raise AssertionError(f"chunk not found in {source} after offset {cursor}")
            end = start + len(piece)
            chunks.append(
                Chunk(
                    chunk_id(source, start, piece),
                    source,
                    piece,
                    start,
                    end,
                    path,
                    digest,
                    layout=layout.within(start, end),
                    version=version,
                )
            )
            cursor = start + 1
        return [replace(c, of=len(chunks)) for c in chunks]


@dataclass(frozen=True)
class SourceDoc:
    """A document ready to split: its text, its source name and, for files, its path."""

    source: str
    text: str
    path: str = ""
    layout: Layout = NO_LAYOUT


def discover(folder: Path) -> Iterator[Path]:
    """Files below ``folder`` in a stable order, hidden files and folders left out."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def absolute(path: Path) -> Path:
    """The absolute path as found, symlinks not followed: a linked file keeps the name it
    has in the folder, and a symlink loop does not raise."""
    return Path(os.path.abspath(path))


def source_name(path: Path, corpus_dir: Path) -> str:
    """Path relative to the corpus folder, or the absolute path for files outside it."""
    found = absolute(path)
    for base in (absolute(corpus_dir), corpus_dir.resolve()):
        if found.is_relative_to(base):
            return found.relative_to(base).as_posix()
    return found.as_posix()


def load(
    items: Iterable[str | Path | Document],
    corpus_dir: Path,
    report: IngestReport,
    max_bytes: int | None = None,
) -> tuple[list[SourceDoc], list[Path]]:
    """Read files, folders and LangChain Documents into :class:`SourceDoc` objects.

    Returns the documents and the folders that were walked (their vanished files get
    removed from the index). Files that cannot be read, or are larger than ``max_bytes``,
    go to ``report.skipped`` with the reason; every other file is still read.
    """
    docs: list[SourceDoc] = []
    folders: list[Path] = []
    for item in items:
        if isinstance(item, Document):
            source = str(item.metadata.get("source") or chunk_id("document", 0, item.page_content))
            docs.append(SourceDoc(source, item.page_content))
            continue
        path = Path(item)
        if path.is_dir():
            folders.append(absolute(path))
            files: Iterable[Path] = discover(path)
        elif path.exists():
            files = [path]
        else:
            report.skipped.append((str(path), "no such file or folder"))
            continue
        for file in files:
            source = source_name(file, corpus_dir)
            try:
                read = read_file(file, max_bytes)
            except UnreadableFile as err:
                report.skipped.append((source, str(err)))
                continue
            if not read.text.strip():
                report.skipped.append((source, "empty"))
                continue
            if read.encoding in TEXT_ENCODINGS:
                report.decoded.append((source, read.encoding))
            if read.ocr_pages:
                report.recognised.append((source, read.ocr_pages))
            docs.append(SourceDoc(source, read.text, str(absolute(file)), read.layout))
    return docs, folders
