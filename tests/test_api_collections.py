"""Collections and saved conversations over the HTTP API, on the real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import NotFoundError, OpenAI

from rag import RAG
from rag.history import ANONYMOUS
from rag.serve.server import create_app, running
from tests.conftest import free_port

HARBOUR = "The harbour festival opens on the first of May."
CONTRACT = "The supply contract was signed by Acme Ltd on 3 June 2024."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    docs = tmp_path_factory.mktemp("api-collections-corpus")
    (docs / "notes.txt").write_text(HARBOUR)
    rag = RAG(corpus_dir=docs, index_dir=tmp_path_factory.mktemp("api-collections-index"))
    rag.ingest(progress=False)
    with running(create_app(rag), "127.0.0.1", free_port()) as url:
        yield url, rag


@pytest.fixture(scope="module")
def contracts(server: tuple[str, RAG], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A collection made and filled through the API, with a file named as the default's."""
    url, _ = server
    made = httpx.post(url + "v1/collections", json={"name": "contracts"})
    assert made.status_code == 201, made.text
    note = tmp_path_factory.mktemp("upload") / "notes.txt"
    note.write_text(CONTRACT)
    with note.open("rb") as f:
        sent = httpx.post(
            url + "v1/documents",
            params={"collection": "contracts"},
            files={"files": ("notes.txt", f)},
            timeout=120,
        )
    assert sent.json()["added"] == ["notes.txt"], sent.text
    return "contracts"


def test_collections_are_listed_and_offered_as_models(
    server: tuple[str, RAG], contracts: str
) -> None:
    url, rag = server
    listed = httpx.get(url + "v1/collections").json()
    assert [c["name"] for c in listed] == [rag.settings.collection, contracts]
    assert listed[0]["default"] and listed[1]["chunks"] == 1
    models = OpenAI(base_url=url + "v1", api_key="x").models.list()
    assert [m.id for m in models] == [rag.settings.collection, contracts]


def test_a_question_names_its_collection(server: tuple[str, RAG], contracts: str) -> None:
    url, _ = server
    there = httpx.post(
        url + "v1/answer", json={"question": "Who signed the contract?", "collection": contracts}
    ).json()
    assert [c["quote"] for c in there["citations"]] == [CONTRACT]
    assert there["citations"][0]["version"]
    here = httpx.post(url + "v1/answer", json={"question": "When does the festival open?"})
    assert [c["quote"] for c in here.json()["citations"]] == [HARBOUR]


def test_a_chat_completion_answers_from_the_collection_its_model_names(
    server: tuple[str, RAG], contracts: str
) -> None:
    reply = OpenAI(base_url=server[0] + "v1", api_key="x").chat.completions.create(
        model=contracts, messages=[{"role": "user", "content": "Who signed the contract?"}]
    )
    assert [c["quote"] for c in reply.choices[0].message.citations] == [CONTRACT]


def test_documents_and_their_text_are_per_collection(
    server: tuple[str, RAG], contracts: str
) -> None:
    url, _ = server
    listed = httpx.get(url + "v1/documents", params={"collection": contracts}).json()
    assert listed == [{"source": "notes.txt", "chunks": 1}]
    text = httpx.get(url + "v1/documents/notes.txt/text", params={"collection": contracts})
    assert text.json()["text"] == CONTRACT


def test_an_unknown_collection_is_a_404_as_data(server: tuple[str, RAG]) -> None:
    url, _ = server
    asked = httpx.post(url + "v1/answer", json={"question": "q?", "collection": "nope-nope"})
    assert asked.status_code == 404
    assert asked.json()["error"]["code"] == "model_not_found"
    with pytest.raises(NotFoundError):
        OpenAI(base_url=url + "v1", api_key="x", max_retries=0).chat.completions.create(
            model="nope-nope", messages=[{"role": "user", "content": "q?"}]
        )


def test_a_bad_or_taken_name_is_refused(server: tuple[str, RAG], contracts: str) -> None:
    url, _ = server
    bad = httpx.post(url + "v1/collections", json={"name": "no spaces"})
    assert bad.status_code == 400 and "not a collection name" in bad.json()["error"]["message"]
    taken = httpx.post(url + "v1/collections", json={"name": contracts})
    assert taken.status_code == 409


def test_deleting_a_collection_leaves_the_others(server: tuple[str, RAG], tmp_path: Path) -> None:
    url, rag = server
    assert httpx.post(url + "v1/collections", json={"name": "scratch"}).status_code == 201
    assert httpx.delete(url + "v1/collections/scratch").json() == {"deleted": "scratch"}
    assert "scratch" not in [c["name"] for c in httpx.get(url + "v1/collections").json()]
    assert httpx.delete(url + "v1/collections/scratch").status_code == 404
    default = httpx.delete(url + f"v1/collections/{rag.settings.collection}")
    assert default.status_code == 400


def test_saved_conversations_of_the_chat_are_read_back(server: tuple[str, RAG]) -> None:
    url, rag = server
    answer = rag.answer("When does the festival open?")
    mine = rag.history.start(ANONYMOUS, rag.settings.collection, answer.question)
    rag.history.add(mine.id, ANONYMOUS, answer)
    rag.history.start("someone-else", rag.settings.collection, "not yours")
    listed = httpx.get(url + "v1/conversations").json()
    assert [c["id"] for c in listed] == [mine.id]
    got = httpx.get(url + f"v1/conversations/{mine.id}").json()
    assert got["turns"][0]["citations"][0]["quote"] == HARBOUR
    assert httpx.get(url + "v1/conversations/unknown").status_code == 404


def test_a_remote_caller_cannot_point_a_collection_at_a_folder_of_the_server(
    server: tuple[str, RAG],
) -> None:
    url, _ = server
    made = httpx.post(url + "v1/collections", json={"name": "peek", "folders": ["/etc"]})
    assert made.status_code == 400  # the field is not part of the request
    assert "peek" not in [c["name"] for c in httpx.get(url + "v1/collections").json()]
