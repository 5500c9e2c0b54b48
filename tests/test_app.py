"""The web chat: a real Gradio server, called the way programs call it (gradio_client)."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from benchmarks.load_chat import start_app
from rag import RAG
from tests.conftest import served, source_text

pytestmark = pytest.mark.slow
IN_RETURN = "What would Ukraine receive in exchange for ceding territory?"
SOURCE_LINE = re.compile(r"\[(\d+)\] (\S+) \(characters (\d+)-(\d+)\): “(.*?)”", re.S)


@pytest.fixture(scope="module")
def client(default_rag: RAG) -> Iterator[Client]:
    with served(default_rag) as url:
        yield Client(url, verbose=False)


def test_chat_answers_with_markers_then_a_sources_message(client: Client) -> None:
    answer, sources = client.predict(IN_RETURN, api_name="/chat")
    assert "[1]" in answer["content"]
    assert sources["metadata"]["title"] == "Sources"
    assert "us-drafted-peace-framework.txt" in sources["content"]
    assert "in return for international security guarantees" in sources["content"]


def test_chat_sources_quote_the_document_at_the_offsets_shown(
    client: Client, corpus_dir: Path
) -> None:
    _, sources = client.predict(IN_RETURN, api_name="/chat")
    found = SOURCE_LINE.findall(sources["content"])
    assert found
    for _, source, start, end, quote in found:
        assert source_text(corpus_dir, source)[int(start) : int(end)] == quote


def test_chat_answers_a_follow_up_of_the_earlier_questions(client: Client) -> None:
    first = "What does the US-drafted framework ask of Ukraine?"
    rewritten, answer, _ = client.predict(
        "And what did Russia say about it?", [first], api_name="/follow_up"
    )
    assert rewritten["metadata"]["title"] == "Follow-up: searched for"
    assert rewritten["content"] == f"what did Russia say about it? (following: {first})"
    assert "The Russian response" in answer["content"]


def test_chat_follow_up_and_check_are_the_only_api_endpoints(client: Client) -> None:
    """The page's own events (answering, rating, uploading) are not callable as an API."""
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/chat", "/follow_up", "/check"}


def test_check_returns_each_sentence_verdict_with_exact_quotes(client: Client) -> None:
    records = client.predict(
        "Diplomats were meeting in Paris and Berlin. The report came out in November 2025.",
        api_name="/check",
    )
    assert [r["verdict"] for r in records] == ["contradicted", "supported"]
    assert [r["supported"] for r in records] == [False, True]
    assert any("November 19, 2025" in c["quote"] for c in records[1]["citations"])


def test_chat_abstains_off_topic_without_sources(client: Client) -> None:
    messages = client.predict("What is the boiling point of nitrogen?", api_name="/chat")
    assert len(messages) == 1
    assert messages[0]["content"].startswith("The sources don't say")


def test_app_py_indexes_an_empty_machine_and_serves_the_chat(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    with start_app(env=cli_env, log_path=tmp_path / "app.log", question=IN_RETURN) as app:
        assert "[1]" in app.first_reply[0]["content"]
        assert "1 added" in app.log()  # it built the index itself
