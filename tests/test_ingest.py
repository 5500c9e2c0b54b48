"""Ingest: exact chunk offsets, stable ids, and an index that follows the folder."""

from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock
from langchain_core.documents import Document

from rag import RAG
from rag.documents.formats import KEPT_CHANGING
from rag.documents.ingest import IngestReport, chunk_id, load
from rag.pipeline import IndexBusy
from tests.conftest import ARTICLE, CORPUS, LONG_TEXT, source_text
from tests.documents import blank_picture, docx_document, xlsx_document, zip_bomb
from tests.test_formats import encrypt, make_pdf


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
    model = default_rag.embeddings.model  # sentence-transformers' own tokenizer and limit
    for chunk in default_rag.splitter.split(LONG_TEXT, "long.txt"):
        tokens = model.tokenizer(chunk.text, add_special_tokens=True)["input_ids"]
        assert len(tokens) <= model.max_seq_length


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
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "image.png").write_bytes(b"\x89PNG\r\n")
    (folder / "scripts.html").write_text("<script>alert(1)</script>")
    pdf = make_pdf("A page of text.")
    (folder / "truncated.pdf").write_bytes(pdf[: len(pdf) // 3])
    (folder / "locked.pdf").write_bytes(encrypt(pdf, password="secret"))
    report = rag.ingest([*sorted(folder.iterdir()), folder / "missing.txt"])
    reasons = dict(report.skipped)
    assert report.added == ["good.txt"]
    assert reasons["empty.txt"] == "empty"
    assert reasons["scripts.html"] == "empty"
    assert reasons["truncated.pdf"].startswith("damaged PDF")
    assert reasons["locked.pdf"] == "encrypted PDF (needs a password)"
    assert "binary file" in reasons["binary.txt"]
    assert reasons["image.png"].startswith("damaged image")
    assert "no such file" in reasons[str(folder / "missing.txt")]


def test_bad_office_files_and_pictures_are_skipped_and_the_good_ones_indexed(
    make_rag: Callable[..., RAG],
) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "good.docx").write_bytes(docx_document())
    (folder / "good.xlsx").write_bytes(xlsx_document())
    (folder / "truncated.docx").write_bytes(docx_document()[:2000])
    (folder / "renamed.xlsx").write_text("Project,Budget\nQuay,450000\n")
    (folder / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(8192))
    (folder / "bomb.docx").write_bytes(zip_bomb(size=600 * 2**20))
    (folder / "blank.png").write_bytes(blank_picture())
    report = rag.ingest()
    reasons = dict(report.skipped)
    assert report.added == ["good.docx", "good.xlsx"]
    assert reasons == {
        "blank.png": "image without text (OCR found none)",
        "bomb.docx": reasons["bomb.docx"],
        "locked.docx": "password-protected or legacy Word file (not readable)",
        "renamed.xlsx": "damaged Excel file (not a zip archive)",
        "truncated.docx": "damaged Word file (not a zip archive)",
    }
    assert "zip bomb" in reasons["bomb.docx"] and "600 MiB" in reasons["bomb.docx"]


def test_every_format_is_indexed_and_quoted_exactly(
    make_rag: Callable[..., RAG],
) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "notes.md").write_text("# Notes\n\nThe lighthouse keeper rings the bell at dawn.")
    (folder / "page.html").write_text(
        "<html><body><p>The ferry to the island leaves at noon.</p></body></html>"
    )
    (folder / "report.pdf").write_bytes(make_pdf("The museum closes on Mondays."))
    (folder / "legacy.txt").write_bytes("The café serves crème brûlée.".encode("latin-1"))
    (folder / "wide.txt").write_bytes("The bakery opens at six.".encode("utf-16"))
    report = rag.ingest()
    assert sorted(report.added) == ["legacy.txt", "notes.md", "page.html", "report.pdf", "wide.txt"]
    assert dict(report.decoded) == {"legacy.txt": "cp1252", "wide.txt": "utf-16"}
    for question, source in [
        ("When does the ferry leave?", "page.html"),
        ("Which day is the museum closed?", "report.pdf"),
        ("What does the café serve?", "legacy.txt"),
        ("When does the bakery open?", "wide.txt"),
    ]:
        (citation, *_) = rag.answer(question).citations
        assert citation.source == source
        assert source_text(folder, source)[citation.start : citation.end] == citation.quote


def test_a_100_mb_file_is_skipped_and_the_rest_indexed(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    with (folder / "huge.txt").open("wb") as huge:
        huge.truncate(100 * 2**20)  # a real 100 MiB file (sparse on disk)
    (folder / "small.txt").write_text("Small files still count.")
    report = rag.ingest()
    assert report.added == ["small.txt"]
    assert dict(report.skipped)["huge.txt"] == (
        "too large (100.0 MiB; the limit is 20.0 MiB, RAG_MAX_FILE_MB)"
    )


def test_the_size_limit_is_a_setting(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag(max_file_mb=1 / 1024)
    (rag.settings.corpus_dir / "two-kib.txt").write_text("Two kibibytes of words. " * 90)
    assert "(2.1 KiB; the limit is 1.0 KiB," in dict(rag.ingest().skipped)["two-kib.txt"]


def test_a_file_that_vanishes_before_it_is_read_is_skipped(
    make_rag: Callable[..., RAG], tmp_path: Path
) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "gone.txt").symlink_to(tmp_path / "deleted-meanwhile.txt")  # listed, not there
    (folder / "here.txt").write_text("This one is here.")
    report = rag.ingest()
    assert report.added == ["here.txt"]
    assert dict(report.skipped)["gone.txt"] == "vanished before it could be read"


def test_a_symlink_loop_is_skipped_with_a_reason(make_rag: Callable[..., RAG]) -> None:
    rag = make_rag()
    folder = rag.settings.corpus_dir
    (folder / "a.txt").symlink_to(folder / "b.txt")
    (folder / "b.txt").symlink_to(folder / "a.txt")
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a folder loop
    (folder / "real.txt").write_text("A real file among loops.")
    report = rag.ingest()
    assert report.added == ["real.txt"]
    reasons = dict(report.skipped)
    assert "symbolic links" in reasons["a.txt"] and "symbolic links" in reasons["b.txt"]


def test_a_file_that_changes_while_it_is_read_is_skipped(tmp_path: Path) -> None:
    """A kernel file changes size between stat and read every time, like a file being
    written by another program; a half-written version must not be indexed."""
    (tmp_path / "live.txt").symlink_to("/proc/self/status")
    report = IngestReport()
    docs, _ = load([tmp_path], tmp_path, report)
    assert docs == []
    assert report.skipped == [("live.txt", KEPT_CHANGING)]


def test_a_second_ingest_on_a_busy_index_is_refused_clearly(
    make_rag: Callable[..., RAG],
) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "a.txt").write_text("Alpha.")
    other = RAG(rag.settings)
    holding = FileLock(rag._lock_path())  # what a running ingest holds
    with holding, pytest.raises(IndexBusy, match="another ingest is writing the index"):
        other.ingest()
    assert other.ingest().added == ["a.txt"]


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


def test_an_unchanged_document_is_not_split_again(
    make_rag: Callable[..., RAG], monkeypatch: pytest.MonkeyPatch
) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "a.txt").write_text(LONG_TEXT)
    (rag.settings.corpus_dir / "b.txt").write_text("Beta is the second letter.")
    rag.ingest()
    (rag.settings.corpus_dir / "b.txt").write_text("Beta is the second letter of the alphabet.")
    split = []
    real = rag.splitter.split
    monkeypatch.setattr(
        rag.splitter,
        "split",
        lambda text, source, *rest: split.append(source) or real(text, source, *rest),
    )
    report = rag.ingest()
    assert (report.unchanged, report.updated, split) == (["a.txt"], ["b.txt"], ["b.txt"])


def test_changing_the_chunk_size_splits_every_document_again(
    long_rag: RAG, make_rag: Callable[..., RAG]
) -> None:
    rag = long_rag
    before = {c.id for c in rag.store.chunks()}
    resized = make_rag(chunk_size=120, chunk_overlap=20, collection=rag.settings.collection)
    report = resized.ingest()
    after = {c.id for c in resized.store.chunks()}
    assert report.updated == ["a.txt"]
    assert after == {c.id for c in resized.splitter.split(LONG_TEXT, "a.txt")} != before


def test_a_document_missing_some_chunks_gets_them_back(long_rag: RAG) -> None:
    rag = long_rag
    ids = {c.id for c in rag.store.chunks()}
    lost = sorted(ids)[0]
    rag.store.delete([lost])  # as an ingest killed before its last batch leaves it
    report = rag.ingest()
    assert (report.updated, report.chunks_added) == (["a.txt"], 1)
    assert {c.id for c in rag.store.chunks()} == ids


def test_indexing_hands_freed_memory_back_after_every_batch(
    make_rag: Callable[..., RAG], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    released = []
    monkeypatch.setattr("rag.index.store.release_freed_memory", lambda: released.append(1))
    monkeypatch.setattr("rag.index.store.BATCH", 4)
    (tmp_path / "docs").mkdir(exist_ok=True)
    (tmp_path / "docs" / "long.txt").write_text(LONG_TEXT)
    rag = make_rag()
    rag.ingest(progress=False)
    assert len(released) == -(-rag.count() // 4) > 1  # one per batch of 4 chunks
