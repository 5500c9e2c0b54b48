"""Saved conversations: each user's chats, their answers and sources as they were, in
SQLite (``RAG_HISTORY_DB``).

Every call names the user, and every query is limited to that user's rows: one user can
neither list, read, rename, delete nor rate another's conversation (asking for it is the
same KeyError as asking for one that does not exist). Without a login the chat's one user
is :data:`ANONYMOUS`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import BadInput, NotFound
from rag.index.versions import connect
from rag.reading.answer import Answer

ANONYMOUS = ""
"""The user of a chat without a login (on loopback), and of the CLI by default."""

TITLE_CHARS = 80
"""A new conversation is titled with its first question, cut to this length."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    collection TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_of_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    asked TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating TEXT
);
CREATE INDEX IF NOT EXISTS turns_of_conversation ON turns (conversation, position);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Conversation:
    """One saved conversation (its turns: :meth:`History.turns`)."""

    id: str
    user: str
    title: str
    collection: str
    created: datetime
    updated: datetime

    @classmethod
    def _of(cls, row: tuple) -> Conversation:
        id_, user, title, collection, created, updated = row
        return cls(
            id_,
            user,
            title,
            collection,
            datetime.fromisoformat(created),
            datetime.fromisoformat(updated),
        )

    @property
    def label(self) -> str:
        """How the chat lists it: its title and when it was last added to."""
        return f"{self.title} · {self.updated:%Y-%m-%d %H:%M}"

    def record(self) -> dict[str, str]:
        return {
            "id": self.id,
            "title": self.title,
            "collection": self.collection,
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }


@dataclass(frozen=True)
class SavedTurn:
    """A question and its answer as they were given (the answer with the passages it
    cites), and the user's rating of it ("up", "down" or None)."""

    id: str
    position: int
    asked: datetime
    answer: Answer
    rating: str | None = None


class History:
    """The saved conversations of every user, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def start(self, user: str, collection: str, title: str) -> Conversation:
        """A new, empty conversation of ``user`` on ``collection``, titled ``title``
        (cut to :data:`TITLE_CHARS`)."""
        now = _now()
        row = (uuid.uuid4().hex, user, _title(title), collection, now, now)
        with connect(self.path, SCHEMA) as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)", row)
        return Conversation._of(row)

    def conversations(self, user: str) -> list[Conversation]:
        """``user``'s conversations, the latest first."""
        with connect(self.path, SCHEMA) as db:
            rows = db.execute(
                "SELECT * FROM conversations WHERE user = ? ORDER BY updated DESC, rowid DESC",
                (user,),
            ).fetchall()
        return [Conversation._of(r) for r in rows]

    def get(self, conversation: str, user: str) -> Conversation:
        """``user``'s conversation ``conversation``; :class:`NotFound` (a KeyError) if
        ``user`` has none of that id."""
        with connect(self.path, SCHEMA) as db:
            row = db.execute(
                "SELECT * FROM conversations WHERE id = ? AND user = ?", (conversation, user)
            ).fetchone()
        if row is None:
            raise NotFound(f"no saved conversation {conversation!r}", code="conversation_not_found")
        return Conversation._of(row)

    def turns(self, conversation: str, user: str) -> list[SavedTurn]:
        """The questions and answers of ``user``'s conversation, in the order asked."""
        self.get(conversation, user)
        with connect(self.path, SCHEMA) as db:
            rows = db.execute(
                "SELECT id, position, asked, answer, rating FROM turns WHERE conversation = ?"
                " ORDER BY position",
                (conversation,),
            ).fetchall()
        return [
            SavedTurn(i, p, datetime.fromisoformat(a), Answer.from_saved(json.loads(saved)), r)
            for i, p, a, saved, r in rows
        ]

    def add(self, conversation: str, user: str, answer: Answer) -> str:
        """Save ``answer`` as the next turn of ``user``'s conversation; the turn's id."""
        self.get(conversation, user)
        turn, now = uuid.uuid4().hex, _now()
        saved = json.dumps(answer.saved(), ensure_ascii=False)
        with connect(self.path, SCHEMA) as db:
            (position,) = db.execute(
                "SELECT COUNT(*) FROM turns WHERE conversation = ?", (conversation,)
            ).fetchone()
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, NULL)",
                (turn, conversation, position, now, saved),
            )
            db.execute("UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation))
        return turn

    def rename(self, conversation: str, user: str, title: str) -> Conversation:
        """Give ``user``'s conversation a new title (not blank)."""
        if not title.strip():
            raise BadInput("a conversation's title cannot be blank", code="invalid_title")
        self.get(conversation, user)
        with connect(self.path, SCHEMA) as db:
            db.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND user = ?",
                (_title(title), conversation, user),
            )
        return self.get(conversation, user)

    def delete(self, conversation: str, user: str) -> None:
        """Delete ``user``'s conversation and its turns."""
        self.get(conversation, user)
        with connect(self.path, SCHEMA) as db:
            db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conversation, user))

    def rate(self, turn: str, user: str, liked: bool) -> None:
        """Record ``user``'s thumbs up or down on a turn of their own conversation."""
        with connect(self.path, SCHEMA) as db:
            changed = db.execute(
                "UPDATE turns SET rating = ? WHERE id = ? AND conversation IN"
                " (SELECT id FROM conversations WHERE user = ?)",
                ("up" if liked else "down", turn, user),
            ).rowcount
        if not changed:
            raise NotFound(f"no saved answer {turn!r}", code="answer_not_found")

    def export(self, conversation: str, user: str) -> dict[str, Any]:
        """The conversation as plain data: its details and every turn's answer."""
        found = self.get(conversation, user)
        turns = [
            {"id": t.id, "asked": t.asked.isoformat(), "rating": t.rating, **t.answer.saved()}
            for t in self.turns(conversation, user)
        ]
        return {**found.record(), "turns": turns}

    def markdown(self, conversation: str, user: str) -> str:
        """The conversation for people: each question, its answer and its quoted sources
        (with the version of the document each quote is from)."""
        found = self.get(conversation, user)
        lines = [
            f"# {found.title}",
            "",
            f"Collection `{found.collection}`, started {found.created:%Y-%m-%d %H:%M} UTC.",
        ]
        for turn in self.turns(conversation, user):
            answer = turn.answer
            lines += ["", f"## {answer.question}", "", answer.text]
            if answer.citations:
                lines += ["", "Sources:"]
                lines += [
                    f'- {c.marker} {c.location}: "{c.quote}"'
                    + (f" (version {c.version})" if c.version else "")
                    for c in answer.citations
                ]
        return "\n".join(lines) + "\n"


def _title(text: str) -> str:
    title = " ".join(text.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
