"""Each kind of rag's errors (rag.errors) through the real server: the status its kind
maps to and the same JSON body, ``{"error": {"message", "type", "code"}}``, whichever
route raised it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rag import RAG, NotFound
from rag.serve.api.errors import status_of
from rag.serve.server import create_app, running
from tests.conftest import free_port

NOTE = "The lighthouse keeper rings the bell at dusk."
CHECK_LIMIT = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    docs = tmp_path_factory.mktemp("api-errors-corpus")
    (docs / "notes.txt").write_text(NOTE)
    index = tmp_path_factory.mktemp("api-errors-index")
    rag = RAG(corpus_dir=docs, index_dir=index, max_check_chars=CHECK_LIMIT)
    rag.ingest(progress=False)
    with running(create_app(rag), "127.0.0.1", free_port()) as url:
        yield url, rag


def error_of(reply: httpx.Response, status: int) -> dict[str, Any]:
    """The error of ``reply``, which must have ``status`` and exactly the API's body."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert list(body) == ["error"] and set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["message"] and "Traceback" not in reply.text
    return body["error"]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", "v1/documents/nowhere.txt/text", None, "document_not_found"),
        ("DELETE", "v1/documents/nowhere.txt", None, "document_not_found"),
        ("DELETE", "v1/collections/never-made", None, "collection_not_found"),
        ("GET", "v1/conversations/no-such-id", None, "conversation_not_found"),
        ("POST", "v1/answer", {"question": "Who?", "collection": "never-made"}, "model_not_found"),
        ("GET", "v1/nothing-here", None, "not_found"),
    ],
)
def test_what_does_not_exist_is_a_404(
    server: tuple[str, RAG], method: str, path: str, body: Any, code: str
) -> None:
    reply = httpx.request(method, server[0] + path, json=body, timeout=60)
    error = error_of(reply, 404)
    assert error["code"] == code and error["type"] == "invalid_request_error"


def test_a_taken_collection_name_is_a_409(server: tuple[str, RAG]) -> None:
    url, _ = server
    assert httpx.post(url + "v1/collections", json={"name": "harbour"}).status_code == 201
    error = error_of(httpx.post(url + "v1/collections", json={"name": "harbour"}), 409)
    assert error["code"] == "invalid_collection" and "exists already" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("POST", "v1/collections", {"name": "no spaces"}, "invalid_collection"),
        ("DELETE", "v1/collections/{default}", None, "invalid_collection"),
        (
            "POST",
            "v1/chat/completions",
            {"model": "rag", "messages": [{"role": "system", "content": "Be brief."}]},
            "invalid_request",
        ),
    ],
)
def test_input_rag_cannot_act_on_is_a_400(
    server: tuple[str, RAG], method: str, path: str, body: Any, code: str
) -> None:
    url, rag = server
    path = path.format(default=rag.settings.collection)
    error = error_of(httpx.request(method, url + path, json=body, timeout=60), 400)
    assert error["code"] == code


def test_a_text_over_the_check_limit_is_a_413(server: tuple[str, RAG]) -> None:
    text = "The bell rings. " * (CHECK_LIMIT // 10)
    error = error_of(httpx.post(server[0] + "v1/check", json={"text": text}, timeout=60), 413)
    assert error["code"] == "text_too_long" and "RAG_MAX_CHECK_CHARS" in error["message"]


def test_a_body_over_the_limit_is_a_413_before_it_is_read(server: tuple[str, RAG]) -> None:
    big = b'{"question": "' + b"x" * 2**21 + b'"}'
    headers = {"content-type": "application/json"}
    reply = httpx.post(server[0] + "v1/answer", content=big, headers=headers, timeout=60)
    assert error_of(reply, 413)["code"] == "request_too_large"


def test_a_change_while_an_ingest_writes_the_index_is_a_503(server: tuple[str, RAG]) -> None:
    url, rag = server
    with rag.ingest_lock():
        reply = httpx.delete(url + "v1/documents/notes.txt", timeout=60)
    error = error_of(reply, 503)
    assert error["code"] == "index_busy" and error["type"] == "server_error"
    assert rag.documents() == {"notes.txt": 1}


def test_changes_are_a_403_when_uploads_are_off(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    docs = tmp_path_factory.mktemp("read-only-corpus")
    (docs / "notes.txt").write_text(NOTE)
    rag = RAG(corpus_dir=docs, index_dir=docs.parent / "read-only-index", uploads=False)
    rag.ingest(progress=False)
    with running(create_app(rag), "127.0.0.1", free_port()) as url:
        made = httpx.post(url + "v1/collections", json={"name": "harbour"})
        removed = httpx.delete(url + "v1/documents/notes.txt")
        for reply in (made, removed):
            assert error_of(reply, 403)["code"] == "uploads_off"
    assert rag.documents() == {"notes.txt": 1}


def test_a_narrower_kind_answers_with_its_kind_status() -> None:
    class Gone(NotFound):
        """A kind a later version might add under NotFound."""

    assert status_of(Gone("the document was deleted")) == 404
