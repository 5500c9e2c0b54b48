"""The HTTP API on the real server (the chat mounted beside it), called as programs call
it: the official ``openai`` client, ``httpx``, ``gradio_client``; bad requests get the
right status and a JSON error, never a traceback."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator

import httpx
import pytest
from openai import AuthenticationError, OpenAI

from benchmarks.load_chat import Connection, gradio_call
from rag import RAG
from rag.serve.gate import Gate
from rag.serve.server import create_app, running
from tests.conftest import CORPUS, free_port, run_async, wait_until

IN_RETURN = "What would Ukraine receive in exchange for ceding territory?"
GUARANTEES = "security guarantees"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    """The real server (API and chat on one port) over a copy of the default corpus."""
    docs = tmp_path_factory.mktemp("api-corpus")
    shutil.copytree(CORPUS, docs, dirs_exist_ok=True)
    rag = RAG(corpus_dir=docs, index_dir=tmp_path_factory.mktemp("api-index"))
    rag.ingest(progress=False)
    with running(create_app(rag), "127.0.0.1", free_port()) as url:
        yield url, rag


@pytest.fixture
def client(server: tuple[str, RAG]) -> OpenAI:
    return OpenAI(base_url=server[0] + "v1", api_key="unused", max_retries=0)


def exact(rag: RAG, citations: list[dict]) -> bool:
    return all(
        rag.document_text(c["source"])[c["start"] : c["end"]] == c["quote"] for c in citations
    )


# --- OpenAI-compatible ---


def test_the_collection_is_listed_as_a_model(client: OpenAI, server: tuple[str, RAG]) -> None:
    assert [m.id for m in client.models.list()] == [server[1].settings.collection]


def test_a_chat_completion_keeps_its_markers_and_carries_its_citations(
    client: OpenAI, server: tuple[str, RAG]
) -> None:
    reply = client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": IN_RETURN}]
    )
    message = reply.choices[0].message
    assert "[1]" in message.content
    citations = message.citations
    assert citations and exact(server[1], citations)
    assert any(GUARANTEES in c["quote"] for c in citations)
    assert message.abstained is False


def test_a_streamed_completion_adds_up_to_the_answer_and_ends_with_its_citations(
    client: OpenAI, server: tuple[str, RAG]
) -> None:
    chunks = list(
        client.chat.completions.create(
            model="rag", stream=True, messages=[{"role": "user", "content": IN_RETURN}]
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == server[1].answer(IN_RETURN).text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.citations and exact(server[1], last.citations)


def test_earlier_messages_are_the_conversation_of_a_follow_up(client: OpenAI) -> None:
    first = "What does the US-drafted framework ask of Ukraine?"
    reply = client.chat.completions.create(
        model="rag",
        messages=[
            {"role": "user", "content": first},
            {"role": "assistant", "content": "It would cede territory [1]."},
            {"role": "user", "content": "And what did Russia say about it?"},
        ],
    )
    assert reply.choices[0].message.rewritten is not None
    assert first in reply.choices[0].message.rewritten


def test_an_abstention_is_a_normal_answer_that_says_so(client: OpenAI) -> None:
    reply = client.chat.completions.create(
        model="rag",
        messages=[{"role": "user", "content": "What is the boiling point of nitrogen?"}],
    )
    message = reply.choices[0].message
    assert message.abstained is True and message.citations == []
    assert message.content.startswith("The sources don't say")


# --- REST ---


def test_answer_returns_the_answer_as_data(server: tuple[str, RAG]) -> None:
    body = httpx.post(server[0] + "v1/answer", json={"question": IN_RETURN}, timeout=60).json()
    assert body["question"] == IN_RETURN and not body["abstained"]
    assert exact(server[1], body["citations"])


def test_search_returns_the_passages_retrieval_finds(server: tuple[str, RAG]) -> None:
    found = httpx.post(
        server[0] + "v1/search", json={"query": "security guarantees", "k": 3}, timeout=60
    ).json()
    assert [p["id"] for p in found] == [p.id for p in server[1].retrieve("security guarantees", 3)]
    for passage in found:
        text = server[1].document_text(passage["source"])
        assert text[passage["start"] : passage["end"]] == passage["text"]


def test_check_gives_each_sentence_a_verdict(server: tuple[str, RAG]) -> None:
    body = httpx.post(
        server[0] + "v1/check",
        json={"text": "Ukraine would cede territory in exchange for security guarantees."},
        timeout=120,
    ).json()
    (sentence,) = body["sentences"]
    assert sentence["verdict"] in ("supported", "contradicted", "not found")


def test_documents_are_listed_uploaded_read_and_deleted(server: tuple[str, RAG]) -> None:
    url, rag = server
    listed = httpx.get(url + "v1/documents").json()
    assert {
        "source": "us-drafted-peace-framework.txt",
        "chunks": rag.documents()["us-drafted-peace-framework.txt"],
    } in listed
    note = "Herons of the Quillmouth estuary nest in colonies on the salt marsh."
    added = httpx.post(
        url + "v1/documents", files={"files": ("herons.md", note.encode())}, timeout=120
    ).json()
    assert added["added"] == ["herons.md"]
    assert httpx.get(url + "v1/documents/herons.md/text").json()["text"] == note
    deleted = httpx.delete(url + "v1/documents/herons.md", timeout=60).json()
    assert deleted["chunks_removed"] == 1
    assert not (rag.settings.corpus_dir / "herons.md").exists()
    assert "herons.md" not in rag.documents()


def test_an_upload_that_cannot_be_indexed_says_why(server: tuple[str, RAG]) -> None:
    added = httpx.post(
        server[0] + "v1/documents", files={"files": ("slides.key", b"PK\x03\x04")}, timeout=60
    ).json()
    assert added["skipped"] == [{"source": "slides.key", "reason": "unsupported format '.key'"}]


def test_the_openapi_docs_describe_the_api(server: tuple[str, RAG]) -> None:
    spec = httpx.get(server[0] + "openapi.json").json()
    assert {"/v1/chat/completions", "/v1/answer", "/v1/search", "/v1/documents"} <= set(
        spec["paths"]
    )
    assert httpx.get(server[0] + "docs").status_code == 200


# --- bad requests: the right status and a JSON error ---


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("v1/chat/completions", b"{not json", 400, "invalid_json"),
        ("v1/chat/completions", b'{"model": "rag"}', 400, "invalid_request"),
        ("v1/chat/completions", b'{"model": "rag", "messages": []}', 400, "invalid_request"),
        (
            "v1/chat/completions",
            b'{"model": "minutes-2019", "messages": [{"role": "user", "content": "Hi?"}]}',
            404,
            "model_not_found",
        ),
        ("v1/answer", b'{"question": "Hi?", "collection": "minutes-2019"}', 404, "model_not_found"),
        ("v1/answer", b'{"question": 5}', 400, "invalid_request"),
        ("v1/answer", b"x" * (10 * 2**20), 413, "request_too_large"),
        ("v1/nothing-here", b"{}", 404, "not_found"),
    ],
)
def test_a_bad_request_gets_its_status_and_a_json_error(
    server: tuple[str, RAG], path: str, body: bytes, status: int, code: str
) -> None:
    reply = httpx.post(
        server[0] + path, content=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]
    assert "Traceback" not in reply.text


def test_an_unknown_document_is_a_404(server: tuple[str, RAG]) -> None:
    reply = httpx.get(server[0] + "v1/documents/nowhere.txt/text")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "document_not_found"


# --- keys ---


def test_with_api_keys_set_a_request_needs_one(tmp_path_factory: pytest.TempPathFactory) -> None:
    docs = tmp_path_factory.mktemp("keyed")
    (docs / "a.txt").write_text("The ferry leaves at noon.")
    rag = RAG(corpus_dir=docs, index_dir=docs.parent / "keyed-index", api_keys="k-one,k-two")
    rag.ingest(progress=False)
    with running(create_app(rag), "127.0.0.1", free_port()) as url:
        wrong = OpenAI(base_url=url + "v1", api_key="k-three", max_retries=0)
        with pytest.raises(AuthenticationError):
            wrong.models.list()
        plain = httpx.post(url + "v1/answer", json={"question": "When does the ferry leave?"})
        assert plain.status_code == 401 and plain.json()["error"]["code"] == "invalid_api_key"
        right = OpenAI(base_url=url + "v1", api_key="k-two", max_retries=0)
        reply = right.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "When does the ferry leave?"}]
        )
        assert "noon" in reply.choices[0].message.content
        assert httpx.post(url + "mcp", json={}).status_code == 401  # MCP needs a key too
        assert httpx.get(url).status_code == 200  # the chat has its own login (RAG_AUTH)


# --- MCP over streamable HTTP, on the same port ---


def test_an_agent_reaches_the_mcp_tools_over_http(server: tuple[str, RAG]) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def ask() -> tuple[list[str], dict]:
        async with (
            streamable_http_client(server[0] + "mcp") as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = sorted(t.name for t in (await session.list_tools()).tools)
            result = await session.call_tool("answer", {"question": IN_RETURN})
            return tools, result.structured_content

    tools, answered = run_async(ask())
    assert tools == ["answer", "list_documents", "search"]
    assert not answered["abstained"] and exact(server[1], answered["citations"])


# --- the chat's endpoints keep working on the same server ---


def test_gradio_clients_chat_and_follow_up_still_answer(server: tuple[str, RAG]) -> None:
    from gradio_client import Client

    chat = Client(server[0], verbose=False)
    reply = chat.predict(IN_RETURN, api_name="/chat")
    assert "[1]" in reply[0]["content"]
    follow = chat.predict(
        "And what did Russia say about it?",
        ["What does the US-drafted framework ask of Ukraine?"],
        api_name="/follow_up",
    )
    assert follow[0]["metadata"]["title"].startswith("Follow-up")
    assert json.dumps(follow)  # plain data


# --- many at once ---


def test_the_api_and_the_chat_wait_their_turn_for_the_same_slots(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    docs = tmp_path_factory.mktemp("gated")
    (docs / "a.txt").write_text("The ferry leaves at noon.")
    rag = RAG(corpus_dir=docs, index_dir=docs.parent / "gated-index")
    rag.ingest(progress=False)
    gate, replies = Gate(1), {}
    asked = "When does the ferry leave?"

    def by_api() -> None:
        replies["api"] = httpx.post(url + "v1/answer", json={"question": asked}, timeout=60)

    def by_chat() -> None:
        with Connection(url, 60) as connection:
            replies["chat"] = gradio_call(connection, "chat", [asked], session="gated")

    with running(create_app(rag, gate), "127.0.0.1", free_port()) as url:
        gate.acquire()  # the one slot taken, as by a long answer
        askers = [threading.Thread(target=by_api), threading.Thread(target=by_chat)]
        for asker in askers:
            asker.start()
        wait_until(lambda: gate.waiting == 2, timeout=30)  # both queued at the same gate
        assert replies == {}
        gate.release()
        for asker in askers:
            asker.join(timeout=60)
    assert "noon" in replies["api"].json()["text"]
    assert "noon" in replies["chat"][0]["content"]
