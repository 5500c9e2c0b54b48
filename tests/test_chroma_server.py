"""Chroma server mode: instances that share a real `chroma run` server on loopback.

The ingest tests run against the server too (see the `make_rag` fixture); these cover
what only a shared server has.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from rag import RAG
from tests.conftest import free_port
from tests.proxy import proxy, self_signed_certificate

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
    with pytest.raises(
        ConnectionError, match=r"cannot use the Chroma server at http://127\.0\.0\.1"
    ):
        rag.count()


QUESTION = "Was Ukraine involved in preparing the framework?"


def ingest_and_answer(rag: RAG) -> list[str]:
    rag.ingest()
    return [c.quote for c in rag.answer(QUESTION).citations]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_the_token_reaches_a_server_that_requires_one(
    chroma_server: tuple[str, int], corpus_dir: Path, tmp_path: Path
) -> None:
    with proxy(chroma_server, token="s3cret") as port:
        rag = RAG(
            chroma_host="127.0.0.1",
            chroma_port=port,
            chroma_token="s3cret",
            collection="token-test",
            corpus_dir=corpus_dir,
            index_dir=tmp_path,
        )
        assert any("not involved in preparing" in q for q in ingest_and_answer(rag))


def test_a_wrong_token_is_a_clear_error(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    with proxy(chroma_server, token="s3cret") as port:
        rag = RAG(
            chroma_host="127.0.0.1", chroma_port=port, chroma_token="wrong", index_dir=tmp_path
        )
        with pytest.raises(ConnectionError, match="cannot use the Chroma server"):
            rag.count()


def test_https_with_the_servers_ca_file_works(
    chroma_server: tuple[str, int],
    certificate: tuple[Path, Path],
    corpus_dir: Path,
    tmp_path: Path,
) -> None:
    with proxy(chroma_server, tls=certificate) as port:
        rag = RAG(
            chroma_host="127.0.0.1",
            chroma_port=port,
            chroma_ssl=True,
            chroma_ca_file=certificate[0],
            collection="tls-test",
            corpus_dir=corpus_dir,
            index_dir=tmp_path,
        )
        assert any("not involved in preparing" in q for q in ingest_and_answer(rag))


def test_https_to_an_untrusted_certificate_is_refused(
    chroma_server: tuple[str, int], certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    with proxy(chroma_server, tls=certificate) as port:
        rag = RAG(chroma_host="127.0.0.1", chroma_port=port, chroma_ssl=True, index_dir=tmp_path)
        with pytest.raises(ConnectionError, match=r"https://127\.0\.0\.1"):
            rag.count()
