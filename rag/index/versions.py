"""Document versions: when each version of a document was first indexed, and the text of
the last few, so a saved answer can say its document changed and still show what it
quoted.

One SQLite file (``RAG_HISTORY_DB``, beside the saved conversations), a row per version of
a document of a collection. A connection per call: safe from the chat's worker threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    version TEXT NOT NULL,
    seen TEXT NOT NULL,
    text TEXT,
    PRIMARY KEY (collection, source, version)
);
"""


@contextmanager
def connect(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    """A connection to the SQLite file at ``path`` (made, with ``schema``, when missing),
    committed when the block ends without an error and closed either way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(schema)
        with db:
            yield db
    finally:
        db.close()


@dataclass(frozen=True)
class CitedVersion:
    """How the document a citation quotes stands now (:meth:`rag.RAG.cited_version`)."""

    changed: bool
    """The document's current version is not the one quoted (or it is gone)."""
    removed: bool = False
    """The document is no longer in the collection."""
    since: datetime | None = None
    """When the current version was first indexed (None: not recorded)."""
    still_there: bool = True
    """The quote is in the current version's text."""
    quoted_text: str | None = None
    """The quoted version's whole text, when it is still kept (``RAG_KEEP_VERSIONS``)."""

    @property
    def message(self) -> str:
        """What the chat says of it; "" when the document is unchanged."""
        if not self.changed:
            return ""
        if self.removed:
            said = "this document is no longer in the collection"
        else:
            when = f" on {self.since:%Y-%m-%d %H:%M} UTC" if self.since else ""
            found = "is still" if self.still_there else "is no longer"
            said = f"this document changed{when}; the quote {found} in the current version"
        return said

    @property
    def sentence(self) -> str:
        """:attr:`message` as a sentence of its own."""
        said = self.message
        return f"{said[:1].upper()}{said[1:]}." if said else ""


class Versions:
    """The versions of a collection's documents (shared by all collections of a file)."""

    def __init__(self, path: Path, keep: int) -> None:
        self.path = path
        self.keep = keep
        """How many of a document's latest versions keep their text (older ones keep
        only the date they were first seen)."""

    def record(self, collection: str, documents: Iterable[tuple[str, str, str]]) -> None:
        """Note ``(source, version, text)`` of documents just indexed; a version already
        known keeps its first date."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with connect(self.path, SCHEMA) as db:
            for source, version, text in documents:
                new = db.execute(
                    "INSERT OR IGNORE INTO versions VALUES (?, ?, ?, ?, ?)",
                    (collection, source, version, now, text if self.keep else None),
                ).rowcount
                if new:
                    self._forget_old_texts(db, collection, source)

    def _forget_old_texts(self, db: sqlite3.Connection, collection: str, source: str) -> None:
        db.execute(
            "UPDATE versions SET text = NULL WHERE collection = ? AND source = ? AND version"
            " NOT IN (SELECT version FROM versions WHERE collection = ? AND source = ?"
            " ORDER BY seen DESC, rowid DESC LIMIT ?)",
            (collection, source, collection, source, self.keep),
        )

    def seen(self, collection: str, source: str, version: str) -> datetime | None:
        """When ``version`` of the document was first indexed; None when not recorded."""
        seen = self._field("seen", collection, source, version)
        return datetime.fromisoformat(seen) if seen else None

    def text(self, collection: str, source: str, version: str) -> str | None:
        """The text of ``version`` of the document, when it is still kept."""
        return self._field("text", collection, source, version)

    def _field(self, name: str, collection: str, source: str, version: str) -> str | None:
        with connect(self.path, SCHEMA) as db:
            row = db.execute(
                f"SELECT {name} FROM versions WHERE collection = ? AND source = ? AND version = ?",
                (collection, source, version),
            ).fetchone()
        return row[0] if row else None

    def forget(self, collection: str) -> None:
        """Everything recorded of a collection (it was deleted)."""
        with connect(self.path, SCHEMA) as db:
            db.execute("DELETE FROM versions WHERE collection = ?", (collection,))
