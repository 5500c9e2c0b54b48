"""``rag mcp`` as an agent meets it: the real server process over stdio, called with the
official ``mcp`` client; every tool's quotes are exact text of their sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.conftest import ARTICLE, run_async, source_text

IN_RETURN = "What would Ukraine receive in exchange for ceding territory?"


async def call_tools(env: dict[str, str], calls: list[tuple[str, dict]]) -> tuple[list[str], list]:
    """The server's tool names, and each call's structured result."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "rag.serve.cli", "mcp"], env=env
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        results = []
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, result
            results.append(_data(result))
        return tools, results


def _data(result: Any) -> Any:
    structured = result.structured_content
    if structured is not None:
        return structured.get("result", structured)
    return json.loads(result.content[0].text)


def test_an_agent_searches_answers_and_lists_with_exact_quotes(
    cli_env: dict[str, str], corpus_dir: Path
) -> None:
    tools, (found, answered, listed) = run_async(
        call_tools(
            cli_env,
            [
                ("search", {"query": "security guarantees", "k": 2}),
                ("answer", {"question": IN_RETURN}),
                ("list_documents", {}),
            ],
        )
    )
    assert sorted(tools) == ["answer", "list_documents", "search"]
    assert len(found) == 2
    for passage in found:
        assert (
            source_text(corpus_dir, passage["source"])[passage["start"] : passage["end"]]
            == (passage["text"])
        )
    assert not answered["abstained"] and "[1]" in answered["text"]
    for c in answered["citations"]:
        assert source_text(corpus_dir, c["source"])[c["start"] : c["end"]] == c["quote"]
    assert listed == [{"source": ARTICLE, "chunks": listed[0]["chunks"]}]
    assert listed[0]["chunks"] > 0


def test_an_unanswerable_question_is_said_to_be_so(cli_env: dict[str, str]) -> None:
    _, (answered,) = run_async(
        call_tools(cli_env, [("answer", {"question": "What is the boiling point of nitrogen?"})])
    )
    assert answered["abstained"] and answered["citations"] == []
