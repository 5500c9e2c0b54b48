"""An MCP server, so an agent can ground its work in the user's documents: tools
``search``, ``answer`` and ``list_documents``, each returning exact quotes with their
sources (built on the official ``mcp`` SDK; ``rag mcp`` serves it over stdio)."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from rag.pipeline import RAG

INSTRUCTIONS = (
    "Answers come only from the user's indexed documents. Every quote is exact text of "
    "its source (source, start, end locate it; page and section where the document has "
    "them). When `answer` says abstained, the documents do not hold the answer: say so "
    "rather than guess."
)


def create_mcp(rag: RAG) -> MCPServer:
    """The MCP server over ``rag``'s collection."""
    server = MCPServer("rag", instructions=INSTRUCTIONS)

    @server.tool()
    def search(query: str, k: int = 5) -> list[dict[str, Any]]:
        """The passages of the documents nearest to ``query``, best first, each with its
        source, exact text, offsets, page, section and cosine score."""
        return [p.record() for p in rag.retrieve(query, max(1, min(k, 50)))]

    @server.tool()
    def answer(question: str, history: list[str] | None = None) -> dict[str, Any]:
        """Answer ``question`` from the documents (``history``: the earlier questions of
        the conversation, oldest first). Each sentence of ``text`` ends with [n] markers
        into ``citations``, whose quotes are exact; ``abstained`` is true when the
        documents do not say."""
        found = rag.answer(question, history=history or [])
        return {
            "text": found.text,
            "abstained": found.abstained,
            "citations": [c.record() for c in found.citations],
        }

    @server.tool()
    def list_documents() -> list[dict[str, Any]]:
        """Every indexed document with its number of chunks."""
        return [{"source": s, "chunks": n} for s, n in rag.documents().items()]

    return server
