"""Ingest: exact chunk offsets, stable ids, and an index that follows the folder."""

from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.documents import Document

from rag import RAG
from rag.ingest import chunk_id
from tests.conftest import ARTICLE, CORPUS

LONG_TEXT = " ".join(
    f"Paragraph {i} talks about topic number {i} in some detail, with several clauses; "
    f"it mentions item {i * 7} and ends here." + ("\n\n" if i % 3 == 0 else "")
    for i in range(120)
)


def test_chunks_are_exact_slices_of_the_source(default_rag: RAG) -> None:
    text = (CORPUS / ARTICLE).read_text()
    chunks = default_rag.splitter.split(text, ARTICLE)
    assert len(chunks) > 1
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text


def test_chunks_cover_the_whole_document(default_rag: RAG) -> None:
    chunks = default_rag.splitter.split(LONG_TEXT, "long.txt")
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(LONG_TEXT) if not ch.isspace())


def test_chunks_fit_the_embedding_model_window(default_rag: RAG) -> None:
    tokenizer = default_rag.embeddings.tokenizer
    for chunk in default_rag.splitter.split(LONG_TEXT, "long.txt"):
        tokens = tokenizer(chunk.text, add_special_tokens=True)["input_ids"]
        assert len(tokens) <= tokenizer.model_max_length


def test_chunk_ids_depend_on_source_and_content_only(default_rag: RAG) -> None:
    first = default_rag.splitter.split(LONG_TEXT, "a.txt")
    again = default_rag.splitter.split(LONG_TEXT, "a.txt")
    other = default_rag.splitter.split(LONG_TEXT, "b.txt")
    assert [c.id for c in first] == [c.id for c in again]
    assert not {c.id for c in first} & {c.id for c in other}
    assert first[0].id == chunk_id("a.txt", first[0].start, first[0].text)


def test_first_ingest_adds_every_file(make_rag: Callable[..., RAG], tmp_path: Path) -> None:
    (tmp_path / "docs" / "a.txt").parent.mkdir(exist_ok=True)
    (tmp_path / "docs" / "a.txt").write_text("Alpha is the first letter.")
    (tmp_path / "docs" / "b.md").write_text("# Beta\n\nBeta is the second letter.")
    report = make_rag().ingest()
    assert sorted(report.added) == ["a.txt", "b.md"]
    assert report.chunks_added >= 2


def test_reingesting_the_same_content_adds_nothing(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "a.txt").write_text(LONG_TEXT)
    rag.ingest()
    count = rag.count()
    report = rag.ingest()
    assert (report.unchanged, report.chunks_added, report.chunks_removed) == (["a.txt"], 0, 0)
    assert rag.count() == count


def test_a_changed_file_replaces_its_chunks(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    doc = rag.settings.corpus_dir / "note.txt"
    doc.write_text("The meeting is on Monday in Paris.")
    rag.ingest()
    doc.write_text("The meeting moved to Friday in Rome.")
    report = rag.ingest()
    assert report.updated == ["note.txt"]
    texts = [p.text for p in rag.retrieve("When is the meeting?", k=10)]
    assert texts == ["The meeting moved to Friday in Rome."]


def test_a_file_removed_from_the_folder_loses_its_chunks(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "keep.txt").write_text("Keep this sentence.")
    (rag.settings.corpus_dir / "drop.txt").write_text("Drop this sentence.")
    rag.ingest()
    (rag.settings.corpus_dir / "drop.txt").unlink()
    report = rag.ingest()
    assert report.removed == ["drop.txt"]
    assert {p.source for p in rag.retrieve("sentence", k=10)} == {"keep.txt"}


def test_ingesting_one_file_leaves_the_rest_of_the_folder(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "a.txt").write_text("Apples are red.")
    (folder / "b.txt").write_text("Bananas are yellow.")
    rag.ingest()
    report = rag.ingest([folder / "a.txt"])
    assert (report.unchanged, report.removed) == (["a.txt"], [])
    assert rag.count() == 2


def test_prune_keeps_only_the_sources_given(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    rag.ingest([Document(page_content="Old text.", metadata={"source": "old"})])
    report = rag.ingest(
        [Document(page_content="New text.", metadata={"source": "new"})], prune=True
    )
    assert (report.added, report.removed) == (["new"], ["old"])
    assert {p.source for p in rag.retrieve("text", k=10)} == {"new"}


def test_without_prune_documents_given_earlier_stay(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    rag.ingest([Document(page_content="Old text.", metadata={"source": "old"})])
    rag.ingest([Document(page_content="New text.", metadata={"source": "new"})])
    assert rag.count() == 2


def test_unreadable_files_are_skipped_with_a_reason(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "good.txt").write_text("Good text here.")
    (folder / "empty.txt").write_text("   \n")
    (folder / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    report = rag.ingest([*sorted(folder.iterdir()), folder / "missing.txt"])
    reasons = dict(report.skipped)
    assert report.added == ["good.txt"]
    assert reasons["empty.txt"] == "empty"
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "unsupported format" in reasons["image.png"]
    assert "no such file" in reasons[str(folder / "missing.txt")]


def test_hidden_files_are_not_indexed(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / ".secret.txt").write_text("Hidden words.")
    (rag.settings.corpus_dir / "seen.txt").write_text("Visible words.")
    assert rag.ingest().added == ["seen.txt"]


def test_files_outside_the_corpus_are_named_by_absolute_path(
    make_rag: Callable[..., RAG], tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("Somewhere else entirely.")
    assert make_rag().ingest([outside]).added == [str(outside.resolve())]


def test_langchain_documents_are_ingested_under_their_source(
    make_rag: Callable[..., RAG],
) -> None:
    rag = make_rag()
    doc = Document(page_content="Mercury is the closest planet.", metadata={"source": "sky"})
    rag.ingest([doc])
    (passage,) = rag.retrieve("closest planet", k=1)
    assert (passage.source, passage.text, passage.start) == (
        "sky",
        "Mercury is the closest planet.",
        0,
    )


def test_a_single_path_instead_of_a_list_is_rejected(make_rag: Callable[..., RAG]) -> None:
    with pytest.raises(TypeError, match="list of paths"):
        make_rag().ingest("docs")
