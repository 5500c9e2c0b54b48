"""What the index holds, read back whole, and files added the way the chat's upload does."""

from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.documents import Document

from rag import RAG
from tests.conftest import LONG_TEXT


def test_documents_lists_each_source_with_its_chunk_count(long_rag: RAG) -> None:
    (long_rag.settings.corpus_dir / "b.txt").write_text("A short note about herons.")
    long_rag.ingest()
    chunks = long_rag.store.chunks()
    assert long_rag.documents() == {
        "a.txt": sum(c.source == "a.txt" for c in chunks),
        "b.txt": 1,
    }
    assert long_rag.documents()["a.txt"] > 1


def test_the_document_list_follows_changes_to_the_index(long_rag: RAG) -> None:
    """The list is kept between calls (it reads every chunk); a write must renew it."""
    assert list(long_rag.documents()) == ["a.txt"]
    (long_rag.settings.corpus_dir / "b.txt").write_text("A short note about herons.")
    long_rag.ingest()
    assert list(long_rag.documents()) == ["a.txt", "b.txt"]
    (long_rag.settings.corpus_dir / "a.txt").unlink()
    long_rag.ingest()
    assert list(long_rag.documents()) == ["b.txt"]


def test_document_text_is_the_file_text(long_rag: RAG) -> None:
    assert long_rag.document_text("a.txt") == LONG_TEXT


def test_document_text_without_the_file_is_rebuilt_at_the_same_offsets(long_rag: RAG) -> None:
    (long_rag.settings.corpus_dir / "a.txt").unlink()  # the index still holds it
    text = long_rag.document_text("a.txt")
    assert len(text) == len(LONG_TEXT)
    assert text.split() == LONG_TEXT.split()  # only whitespace between chunks may differ
    for chunk in long_rag.store.chunks("a.txt"):
        assert text[chunk.start : chunk.end] == chunk.text


def test_document_text_of_an_edited_file_is_the_indexed_version(long_rag: RAG) -> None:
    (long_rag.settings.corpus_dir / "a.txt").write_text("Rewritten since it was indexed.")
    assert long_rag.document_text("a.txt").split() == LONG_TEXT.split()


def test_document_text_of_a_langchain_document(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    rag.ingest([Document("Herons nest in colonies.", metadata={"source": "notes"})])
    assert rag.document_text("notes") == "Herons nest in colonies."


def test_document_text_of_an_unknown_source_is_a_key_error(long_rag: RAG) -> None:
    with pytest.raises(KeyError, match=r"nope\.txt"):
        long_rag.document_text("nope.txt")


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """A folder outside the corpus, where the browser's uploads land."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def test_added_files_are_copied_to_the_corpus_and_indexed(
    make_rag: Callable[..., RAG], uploads: Path
) -> None:
    rag = make_rag()
    (uploads / "herons.md").write_text("Herons nest in colonies by the river.")
    report = rag.add_files([uploads / "herons.md"], progress=False)
    assert report.added == ["herons.md"]
    assert (rag.settings.corpus_dir / "herons.md").read_text() == (
        "Herons nest in colonies by the river."
    )
    assert rag.answer("Where do herons nest?").citations[0].source == "herons.md"


def test_an_added_file_that_cannot_be_indexed_is_not_copied(
    make_rag: Callable[..., RAG], uploads: Path
) -> None:
    rag = make_rag()
    (uploads / "table.ods").write_bytes(b"PK\x03\x04")
    (uploads / "budget.xlsx").write_bytes(b"PK\x03\x04")
    (uploads / "empty.txt").write_text("   ")
    report = rag.add_files([uploads / "table.ods", uploads / "budget.xlsx", uploads / "empty.txt"])
    assert report.skipped == [
        ("table.ods", "unsupported format '.ods'"),
        ("budget.xlsx", "damaged Excel file (not a zip archive)"),
        ("empty.txt", "empty"),
    ]
    assert list(rag.settings.corpus_dir.iterdir()) == []
    assert rag.count() == 0


def test_an_added_hidden_file_is_refused(make_rag: Callable[..., RAG], uploads: Path) -> None:
    """The folder sync skips hidden files, so indexing one would not last."""
    rag = make_rag()
    (uploads / ".notes.txt").write_text("Herons nest in colonies.")
    report = rag.add_files([uploads / ".notes.txt"])
    assert report.skipped[0][0] == ".notes.txt" and "hidden" in report.skipped[0][1]
    assert not (rag.settings.corpus_dir / ".notes.txt").exists()


def test_an_added_file_never_overwrites_a_different_one(
    make_rag: Callable[..., RAG], uploads: Path
) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "notes.txt").write_text("The original notes.")
    (uploads / "notes.txt").write_text("Other notes with the same name.")
    report = rag.add_files([uploads / "notes.txt"])
    assert report.skipped and report.skipped[0][0] == "notes.txt"
    assert "rename" in report.skipped[0][1]
    assert (rag.settings.corpus_dir / "notes.txt").read_text() == "The original notes."


def test_adding_the_same_file_again_changes_nothing(
    make_rag: Callable[..., RAG], uploads: Path
) -> None:
    rag = make_rag()
    (uploads / "herons.md").write_text("Herons nest in colonies by the river.")
    rag.add_files([uploads / "herons.md"])
    again = rag.add_files([uploads / "herons.md"])
    assert again.unchanged == ["herons.md"] and not again.skipped
