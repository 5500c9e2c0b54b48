"""Saved conversations (a real SQLite file) and citations pinned to the document version
they quote."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rag import RAG, Answer
from rag.history import ANONYMOUS, History

HARBOUR = "The harbour festival opens on the first of May."
AFTER = " It lasts a week and ends with fireworks."
QUESTION = "When does the harbour festival open?"


@pytest.fixture
def rag(make_rag: Callable[..., RAG]) -> RAG:
    rag = make_rag()
    (rag.corpus_dir / "harbour.txt").write_text(HARBOUR + AFTER)
    rag.ingest()
    return rag


@pytest.fixture
def answered(rag: RAG) -> Answer:
    answer = rag.answer(QUESTION)
    assert [c.quote for c in answer.citations] == [HARBOUR]
    return answer


class TestSaving:
    def test_a_saved_answer_comes_back_as_it_was_given(self, rag: RAG, answered: Answer) -> None:
        history = History(rag.settings.history_path)
        started = history.start("ann", rag.settings.collection, QUESTION)
        history.add(started.id, "ann", answered)
        (turn,) = History(rag.settings.history_path).turns(started.id, "ann")  # a new reader
        again = turn.answer
        assert (again.question, again.text, again.citations) == (
            answered.question,
            answered.text,
            answered.citations,
        )
        assert again.collection == rag.settings.collection
        assert [p.id for p in again.passages] == [answered.citations[0].passage_id]
        assert again.citations[0].version

    def test_conversations_are_listed_latest_first_titled_by_their_first_question(
        self, tmp_path: Path, answered: Answer
    ) -> None:
        history = History(tmp_path / "h.db")
        first = history.start("ann", "rag", "First question " + "x" * 100)
        second = history.start("ann", "rag", "Second")
        history.add(first.id, "ann", answered)
        listed = history.conversations("ann")
        assert [c.id for c in listed] == [first.id, second.id]
        assert len(listed[0].title) == 80 and listed[0].title.endswith("…")

    def test_rename_and_delete(self, tmp_path: Path, answered: Answer) -> None:
        history = History(tmp_path / "h.db")
        talk = history.start("ann", "rag", QUESTION)
        history.add(talk.id, "ann", answered)
        assert history.rename(talk.id, "ann", "  Festival  dates ").title == "Festival dates"
        with pytest.raises(ValueError, match="blank"):
            history.rename(talk.id, "ann", "   ")
        history.delete(talk.id, "ann")
        assert history.conversations("ann") == []
        with pytest.raises(KeyError):
            history.turns(talk.id, "ann")

    def test_a_rating_is_kept_on_the_saved_answer(self, tmp_path: Path, answered: Answer) -> None:
        history = History(tmp_path / "h.db")
        talk = history.start(ANONYMOUS, "rag", QUESTION)
        turn = history.add(talk.id, ANONYMOUS, answered)
        history.rate(turn, ANONYMOUS, liked=False)
        assert history.turns(talk.id, ANONYMOUS)[0].rating == "down"

    def test_an_export_holds_every_answer_and_quote(self, tmp_path: Path, answered: Answer) -> None:
        history = History(tmp_path / "h.db")
        talk = history.start("ann", "rag", QUESTION)
        history.add(talk.id, "ann", answered)
        data = json.loads(json.dumps(history.export(talk.id, "ann")))
        assert data["title"] == QUESTION and data["collection"] == "rag"
        assert data["turns"][0]["citations"][0]["quote"] == HARBOUR
        text = history.markdown(talk.id, "ann")
        assert text.startswith(f"# {QUESTION}\n")
        assert f'harbour.txt: "{HARBOUR}" (version {answered.citations[0].version})' in text


class TestSeparation:
    """One user never sees another's conversations or ratings."""

    @pytest.fixture
    def anns(self, tmp_path: Path, answered: Answer) -> tuple[History, str, str]:
        history = History(tmp_path / "h.db")
        talk = history.start("ann", "rag", QUESTION)
        return history, talk.id, history.add(talk.id, "ann", answered)

    def test_another_user_lists_none_of_them(self, anns: tuple[History, str, str]) -> None:
        history, _, _ = anns
        assert history.conversations("bob") == []
        assert history.conversations(ANONYMOUS) == []

    @pytest.mark.parametrize(
        "action",
        [
            lambda h, c, t: h.get(c, "bob"),
            lambda h, c, t: h.turns(c, "bob"),
            lambda h, c, t: h.export(c, "bob"),
            lambda h, c, t: h.rename(c, "bob", "mine now"),
            lambda h, c, t: h.delete(c, "bob"),
            lambda h, c, t: h.rate(t, "bob", liked=False),
            lambda h, c, t: h.add(c, "bob", Answer("q", "a")),
        ],
        ids=["get", "turns", "export", "rename", "delete", "rate", "add"],
    )
    def test_another_user_can_neither_read_nor_change_them(
        self, anns: tuple[History, str, str], action
    ) -> None:
        history, conversation, turn = anns
        with pytest.raises(KeyError):
            action(history, conversation, turn)
        (kept,) = history.turns(conversation, "ann")
        assert (kept.rating, history.get(conversation, "ann").title) == (None, QUESTION)


class TestPinnedVersions:
    def test_an_unchanged_document_says_nothing(self, rag: RAG, answered: Answer) -> None:
        assert not rag.cited_version(answered.citations[0]).changed

    def test_an_edit_elsewhere_says_the_document_changed_and_the_quote_is_still_there(
        self, rag: RAG, answered: Answer
    ) -> None:
        (rag.corpus_dir / "harbour.txt").write_text(HARBOUR + " It lasts ten days.")
        rag.ingest()
        pinned = rag.cited_version(answered.citations[0])
        assert pinned.changed and pinned.still_there and not pinned.removed
        assert pinned.since is not None
        assert f"changed on {pinned.since:%Y-%m-%d}" in pinned.message
        assert "the quote is still in the current version" in pinned.message
        assert pinned.quoted_text == HARBOUR + AFTER

    def test_an_edited_quote_says_it_is_no_longer_there_and_keeps_the_version_quoted(
        self, rag: RAG, answered: Answer
    ) -> None:
        (rag.corpus_dir / "harbour.txt").write_text("The harbour festival opens in June." + AFTER)
        rag.ingest()
        pinned = rag.cited_version(answered.citations[0])
        assert pinned.changed and not pinned.still_there
        assert "is no longer in the current version" in pinned.message
        assert pinned.quoted_text == HARBOUR + AFTER

    def test_a_removed_document_says_so(self, rag: RAG, answered: Answer) -> None:
        rag.remove("harbour.txt")
        pinned = rag.cited_version(answered.citations[0])
        assert pinned.removed
        assert "no longer in the collection" in pinned.message

    def test_only_the_last_versions_keep_their_text(self, make_rag: Callable[..., RAG]) -> None:
        rag = make_rag(keep_versions=1)
        path = rag.corpus_dir / "harbour.txt"
        path.write_text(HARBOUR + AFTER)
        rag.ingest()
        first = rag.answer(QUESTION).citations[0]
        path.write_text(HARBOUR + " It lasts ten days.")
        rag.ingest()
        pinned = rag.cited_version(first)
        assert pinned.changed and pinned.quoted_text is None  # only the current one is kept
        assert rag.versions.text(rag.settings.collection, "harbour.txt", first.version) is None

    def test_a_citation_from_before_versions_were_recorded_counts_as_unchanged(
        self, rag: RAG, answered: Answer
    ) -> None:
        from dataclasses import replace

        old = replace(answered.citations[0], version="")
        assert not rag.cited_version(old).changed
