"""Chroma server mode: instances that share a real `chroma run` server on loopback.

The ingest tests run against the server too (see the `make_rag` fixture); these cover
what only a shared server has.
"""

from collections.abc import Callable

import pytest

from rag import RAG
from tests.conftest import free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("make_rag", ["server"], indirect=True)
def test_a_second_instance_answers_from_what_the_first_ingested(
    make_rag: Callable[..., RAG], corpus_dir
) -> None:
    writer = make_rag(corpus_dir=corpus_dir)
    writer.ingest()
    reader = RAG(writer.settings)  # another app instance on the same server collection
    found = reader.answer("Was Ukraine involved in preparing the framework?")
    assert reader.count() == writer.count() > 0
    assert any("not involved in preparing the framework" in c.quote for c in found.citations)


@pytest.mark.parametrize("make_rag", ["server"], indirect=True)
def test_reingest_through_another_instance_adds_nothing(
    make_rag: Callable[..., RAG], corpus_dir
) -> None:
    first = make_rag(corpus_dir=corpus_dir)
    first.ingest()
    report = RAG(first.settings).ingest()
    assert (report.unchanged, report.chunks_added) == (["us-drafted-peace-framework.txt"], 0)


def test_an_unreachable_server_is_a_clear_error(tmp_path) -> None:
    rag = RAG(chroma_host="127.0.0.1", chroma_port=free_port(), index_dir=tmp_path)
    with pytest.raises(ConnectionError, match=r"cannot reach the Chroma server at 127\.0\.0\.1"):
        rag.count()
