"""Collections: named sets of documents, each with its own Chroma collection, BM25 index
and folders, on an embedded index and on a Chroma server alike (``make_rag``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rag import RAG

HARBOUR = "The harbour festival opens on the first of May and lasts a week."
CONTRACT = "The supply contract was signed by Acme Ltd on 3 June 2024 for two years."


@pytest.fixture
def two(make_rag: Callable[..., RAG], tmp_path: Path) -> tuple[RAG, RAG]:
    """The default collection and "contracts", each holding a file named ``notes.txt``."""
    rag = make_rag()
    (rag.corpus_dir / "notes.txt").write_text(HARBOUR)
    rag.ingest()
    contracts = rag.create_collection(f"{rag.settings.collection}-contracts")
    (contracts.corpus_dir / "notes.txt").write_text(CONTRACT)
    contracts.ingest()
    return rag, contracts


class TestAnswering:
    def test_each_collection_answers_from_its_own_documents_though_their_names_overlap(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, contracts = two
        signed = contracts.answer("Who signed the supply contract?")
        assert [c.quote for c in signed.citations] == [CONTRACT]
        assert signed.citations[0].source == "notes.txt"
        assert signed.collection == contracts.settings.collection
        opens = rag.answer("When does the harbour festival open?")
        assert [c.quote for c in opens.citations] == [HARBOUR]
        assert opens.collection == rag.settings.collection

    def test_a_question_about_the_other_collection_is_not_answered_from_it(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, _ = two
        assert CONTRACT not in {c.quote for c in rag.answer("Who signed the contract?").citations}

    def test_the_collection_opened_by_name_is_the_same_as_the_one_made(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, contracts = two
        assert rag.collection(contracts.settings.collection) is contracts
        assert contracts.embeddings is rag.embeddings  # one model for all collections


class TestListing:
    def test_collections_are_listed_with_their_folders_and_chunks_default_first(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, contracts = two
        found = {c.name: c for c in rag.collections()}
        assert rag.collections()[0].name == rag.settings.collection
        assert found[rag.settings.collection].default
        assert found[rag.settings.collection].folders == [rag.settings.corpus_dir]
        made = found[contracts.settings.collection]
        assert not made.default and made.chunks == 1
        assert made.folders == [rag.settings.collections_dir / contracts.settings.collection]

    def test_a_new_instance_finds_a_collections_folder_as_recorded(
        self, two: tuple[RAG, RAG], tmp_path: Path
    ) -> None:
        rag, contracts = two
        again = RAG(rag.settings.model_copy(update={"collection": contracts.settings.collection}))
        assert again.corpus_dir == contracts.corpus_dir
        (again.corpus_dir / "later.txt").write_text("A second contract was signed in 2025.")
        assert again.ingest().added == ["later.txt"]

    def test_a_folder_ingested_into_a_collection_is_kept_in_sync_after(
        self, two: tuple[RAG, RAG], tmp_path: Path
    ) -> None:
        _, contracts = two
        extra = tmp_path / "scans"
        extra.mkdir()
        (extra / "memo.txt").write_text("The memo about the quay was filed in April.")
        contracts.ingest([extra])
        assert extra in contracts.folders
        (extra / "memo.txt").unlink()
        assert contracts.ingest().removed == [str(extra / "memo.txt")]


class TestMakingAndDeleting:
    def test_deleting_a_collection_removes_its_index_and_nothing_else(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, contracts = two
        name = contracts.settings.collection
        contracts.warm_index()
        bm25 = contracts._lexical_cache()
        assert bm25.exists()
        rag.delete_collection(name)
        assert name not in {c.name for c in rag.collections()}
        assert not bm25.exists()
        assert (contracts.corpus_dir / "notes.txt").read_text() == CONTRACT  # files stay
        assert [c.quote for c in rag.answer("When does the festival open?").citations] == [HARBOUR]
        assert rag.count() == 1

    def test_a_deleted_collection_made_again_starts_empty_and_reindexes_its_folder(
        self, two: tuple[RAG, RAG]
    ) -> None:
        rag, contracts = two
        name = contracts.settings.collection
        rag.delete_collection(name)
        again = rag.create_collection(name)
        assert again.count() == 0
        assert again.ingest().added == ["notes.txt"]

    def test_the_default_collection_is_not_deleted(self, two: tuple[RAG, RAG]) -> None:
        rag, _ = two
        with pytest.raises(ValueError, match="default collection"):
            rag.delete_collection(rag.settings.collection)

    def test_a_missing_collection_cannot_be_deleted(self, two: tuple[RAG, RAG]) -> None:
        rag, _ = two
        with pytest.raises(KeyError, match="no collection named 'nothing-here'"):
            rag.delete_collection("nothing-here")

    def test_a_taken_name_is_refused(self, two: tuple[RAG, RAG]) -> None:
        rag, contracts = two
        with pytest.raises(ValueError, match="exists already"):
            rag.create_collection(contracts.settings.collection)

    @pytest.mark.parametrize("bad", ["ab", "-leading", "has space", "a/b", "x" * 64, "a..b"])
    def test_a_name_chroma_or_a_file_system_would_refuse_is_refused_clearly(
        self, two: tuple[RAG, RAG], bad: str
    ) -> None:
        rag, _ = two
        with pytest.raises(ValueError, match="is not a collection name"):
            rag.create_collection(bad)

    def test_a_collection_can_index_folders_given_at_creation(
        self, make_rag: Callable[..., RAG], tmp_path: Path
    ) -> None:
        rag = make_rag()
        folder = tmp_path / "manuals"
        folder.mkdir()
        (folder / "pump.txt").write_text("Prime the pump before the first start.")
        manuals = rag.create_collection(f"{rag.settings.collection}-manuals", [folder])
        assert manuals.folders == [folder]
        assert manuals.ingest().added == ["pump.txt"]
        assert manuals.answer("What must be done before the first start?").citations


class TestServing:
    def test_the_chats_start_brings_every_collection_in_line_with_its_folders(
        self, two: tuple[RAG, RAG]
    ) -> None:
        from rag.serve.server import sync_in_background

        rag, contracts = two
        (contracts.corpus_dir / "later.txt").write_text("A second contract was signed in 2025.")
        (rag.corpus_dir / "notes.txt").unlink()
        sync_in_background(RAG(rag.settings))  # as a restarted chat does
        assert set(contracts.documents()) == {"notes.txt", "later.txt"}
        assert rag.documents() == {}
