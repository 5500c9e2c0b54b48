"""The one home of ingest: scan, diff, chunk, embed, write, version.

An ingest brings a collection's index in line with its sources: :func:`load` reads them
(:mod:`rag.documents.ingest`), :func:`diff` compares them with what the store holds and
splits only what changed, :meth:`Indexer.sync` writes the changes (new chunks before
stale ones are deleted, so an interrupted ingest never leaves a document with no chunks)
and records the documents' versions. One ingest at a time writes an index
(:func:`holding`); the chat's uploads are checked and copied by :func:`accept_uploads`.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from langchain_core.documents import Document

from rag.documents.ingest import (
    Chunk,
    IngestReport,
    SourceDoc,
    Splitter,
    absolute,
    load,
    version_of,
)
from rag.errors import IndexBusy
from rag.index.store import IndexedSource, Store
from rag.index.versions import Versions

Source = str | Path | Document
"""What an ingest takes: a file, a folder, or a LangChain Document (named by
``metadata["source"]``)."""


@contextmanager
def holding(path: Path, wait: float | None, busy: str, notice: str = "") -> Iterator[None]:
    """Hold the file lock at ``path`` for the block. Another holder is waited for up to
    ``wait`` seconds (None: as long as it takes), with ``notice`` on stderr if given;
    then :class:`IndexBusy` is raised with the message ``busy``."""
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if notice:
            print(notice, file=sys.stderr)
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise IndexBusy(busy) from None
    try:
        yield
    finally:
        lock.release()


def is_current(entry: IndexedSource, digest: str, path: str) -> bool:
    """Whether the index holds every chunk of the document with this digest and path,
    with its sentence vectors, and nothing else of the source: no need to split it
    again."""
    return (
        not entry.outdated
        and entry.digests == {digest}
        and entry.sizes == {len(entry.ids)}
        and entry.path == path
    )


@dataclass
class Changes:
    """What an ingest writes: chunks to embed, chunks whose metadata is rewritten (their
    vectors stay), chunk ids to delete."""

    add: list[Chunk] = field(default_factory=list)
    relabel: list[Chunk] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)


def diff(
    docs: list[SourceDoc],
    indexed: dict[str, IndexedSource],
    splitter: Splitter,
    folders: list[Path],
    *,
    prune: bool,
    report: IngestReport,
) -> Changes:
    """The changes that bring ``indexed`` in line with ``docs``, each source noted in
    ``report``. A source not loaded this time is removed when it was a file of one of
    the ``folders`` walked, or with ``prune`` whatever it was."""
    changes = Changes()
    indexed = dict(indexed)
    for doc in docs:
        old = indexed.pop(doc.source, None) or IndexedSource()
        if is_current(old, splitter.digest(doc.text, doc.layout), doc.path):
            report.unchanged.append(doc.source)
            continue
        chunks = splitter.split(doc.text, doc.source, doc.path, doc.layout)
        old_ids = old.ids - old.outdated  # outdated chunks are embedded again
        new = [c for c in chunks if c.id not in old_ids]
        stale = old.ids - {c.id for c in chunks}
        changes.add += new
        changes.relabel += [c for c in chunks if c.id in old_ids]
        changes.delete += stale
        if not old.ids:
            report.added.append(doc.source)
        elif new or stale:
            report.updated.append(doc.source)
        else:
            report.unchanged.append(doc.source)
    for source, entry in indexed.items():  # not loaded this time
        in_folder = entry.path and any(Path(entry.path).is_relative_to(f) for f in folders)
        if prune or in_folder:
            report.removed.append(source)
            changes.delete += entry.ids
    return changes


@dataclass(frozen=True)
class Indexer:
    """What an ingest of one collection reads with and writes to."""

    store: Store
    splitter: Splitter
    versions: Versions
    collection: str
    max_bytes: int | None
    changed: Callable[[], None]
    """Called after a write that added or deleted chunks (rebuilds the BM25 index now
    rather than on the next question)."""

    def sync(
        self,
        sources: Iterable[Source],
        corpus_dir: Path,
        *,
        prune: bool = False,
        progress: bool | None = None,
    ) -> IngestReport:
        """Bring the index in line with ``sources``; names are relative to
        ``corpus_dir``. See ``RAG.ingest``."""
        started = time.perf_counter()
        report = IngestReport()
        docs, folders = load(sources, corpus_dir, report, max_bytes=self.max_bytes)
        changes = diff(
            docs, self.store.sources(), self.splitter, folders, prune=prune, report=report
        )
        report.precision = self.store.add(changes.add, progress=progress)
        self.store.relabel(changes.relabel)
        self.store.delete(changes.delete)
        if changes.add or changes.delete:
            self.changed()
        self.versions.record(
            self.collection, ((d.source, version_of(d.text), d.text) for d in docs)
        )
        report.chunks_added, report.chunks_removed = len(changes.add), len(changes.delete)
        report.seconds = time.perf_counter() - started
        return report


def folders_among(sources: Iterable[Source]) -> list[Path]:
    """The folders among ``sources``, as an ingest names them."""
    given = [absolute(Path(s)) for s in sources if not isinstance(s, Document)]
    return [f for f in given if f.is_dir()]


def accept_uploads(
    paths: Iterable[str | Path], folder: Path, max_bytes: int | None
) -> tuple[list[Path], IngestReport]:
    """Copy into ``folder`` the files that pass an ingest's checks (type, size, readable,
    not empty), and return where they now are, with a report of the others and why.

    A file whose name a different file already has in the folder is refused (nothing
    there is overwritten); one identical to it is accepted and left as it is.
    """
    checks = IngestReport()
    accepted: list[tuple[Path, Path]] = []
    for path in map(Path, paths):
        target = folder / path.name
        before = len(checks.skipped)
        load([path], folder, checks, max_bytes=max_bytes)
        if len(checks.skipped) > before:
            checks.skipped[-1] = (path.name, checks.skipped[-1][1])
        elif path.name.startswith("."):
            checks.skipped.append(
                (path.name, "hidden files (name starting with '.') are not indexed")
            )
        elif target.exists() and target.read_bytes() != path.read_bytes():
            reason = "a different file of this name is in the corpus folder; rename one"
            checks.skipped.append((path.name, reason))
        else:
            accepted.append((path, target))
    folder.mkdir(parents=True, exist_ok=True)
    for path, target in accepted:
        if not target.exists():
            shutil.copyfile(path, target)
    return [target for _, target in accepted], checks
