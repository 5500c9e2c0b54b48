"""The web chat: a Gradio ChatInterface over :meth:`RAG.answer`, and ``/chat`` for programs."""

from __future__ import annotations

import html
import logging
import os
import sys
import threading

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: we run offline
# Gradio asks matplotlib for its backend around every call; left to resolve it, matplotlib
# imports pyplot during the first answer (about 0.6 s). A server draws nothing on screen.
os.environ.setdefault("MPLBACKEND", "agg")

import gradio as gr

from rag.answer import Answer
from rag.pipeline import RAG

log = logging.getLogger(__name__)

SESSIONS_KEPT = 1000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ERROR_TEXT = (
    "Sorry, something went wrong while answering ({kind}). The error was logged on the "
    "server; please try again or rephrase the question."
)

EXAMPLES = [
    "What would Ukraine receive in exchange for ceding territory?",
    "Was Ukraine involved in preparing the framework?",
    "How did European diplomats describe the proposal?",
]


def reply_messages(answer: Answer) -> list[dict]:
    """The answer, then its numbered sources with quotes in a collapsible block, as text."""
    messages: list[dict] = [{"role": "assistant", "content": answer.text}]
    if answer.citations:
        sources = "\n\n".join(
            f"{c.marker} {c.source} (characters {c.start}-{c.end}): “{c.quote}”"
            for c in answer.citations
        )
        messages.append({"role": "assistant", "content": sources, "metadata": {"title": "Sources"}})
    return messages


def as_display(messages: list[dict]) -> list[dict]:
    """Messages escaped for the page.

    Gradio's Chatbot inserts message text as (sanitized) HTML even with Markdown off, so
    a document holding ``<img>`` or ``<b>`` would become markup and whatever the
    sanitizer strips would vanish from the quote. Escaped, every character shows as text.
    """
    return [{**m, "content": html.escape(m["content"], quote=False)} for m in messages]


def build_demo(rag: RAG) -> gr.Blocks:
    """The chat app for ``rag``.

    Programs call ``/chat`` (``message`` -> list of messages) and get the text as it is;
    the page shows the same messages escaped, so document text never acts as markup.
    """

    def chat(message: str) -> list[dict]:
        """Answer one question: the answer message, then a Sources message if it cites."""
        try:
            return reply_messages(rag.answer(str(message or "")))
        except Exception as err:  # the chat must answer something, never show a traceback
            log.exception("answering %r failed", str(message)[:200])
            return [{"role": "assistant", "content": ERROR_TEXT.format(kind=type(err).__name__)}]

    def page_chat(message: str, history: list[dict]) -> list[dict]:
        return as_display(chat(message))

    with gr.Blocks(title="Ask the documents", fill_height=True) as demo:
        gr.ChatInterface(
            page_chat,
            chatbot=gr.Chatbot(render_markdown=False, label="Answers with sources", scale=1),
            api_visibility="private",
            title="Ask the documents",
            description=(
                f"Answers come only from the {rag.count()} indexed passages of "
                f"{rag.settings.corpus_dir.name}/, each sentence cited with an exact quote. "
                "When the sources don't say, the answer says so."
            ),
            examples=EXAMPLES,
            run_examples_on_click=True,
            flagging_mode="never",
            fill_height=True,
        )
        gr.api(chat, api_name="chat")
    return demo


def sync_in_background(rag: RAG) -> None:
    """Bring the index in line with the corpus folder and print what changed; a failure
    is logged (the chat keeps serving the index as it is)."""
    try:
        print(rag.ingest(wait=600), file=sys.stderr)
    except Exception:
        log.exception("checking the index against %s failed", rag.settings.corpus_dir)


def serve(rag: RAG | None = None) -> None:
    """Serve the chat on host:port, the index checked against the corpus folder.

    An empty index is filled before serving. An existing one is served at once while the
    folder is checked in the background (at 10,000 documents that check takes seconds),
    and changes become answerable when it ends. Another ingest running on the same index
    (the CLI, or a second app) is waited for. Without RAG_AUTH on an address other than
    loopback, a warning says the chat is open.
    """
    rag = rag or RAG()
    s = rag.settings
    print(f"Checking the index against {s.corpus_dir} ...", file=sys.stderr)
    with rag.ingest_lock(wait=600):  # opened after any ingest running elsewhere
        empty = rag.count() == 0
    if empty:  # nothing to serve yet: index first, and a failure stops the start
        print(rag.ingest(wait=600), file=sys.stderr)
    else:
        threading.Thread(
            target=sync_in_background, args=(rag,), name="index-sync", daemon=True
        ).start()
    auth = s.credentials()
    if auth is None and s.host not in LOOPBACK:
        print(
            f"WARNING: the chat is served on {s.host} without a login; anyone who can reach "
            "this machine can query the documents. Set RAG_AUTH=user:password to require one.",
            file=sys.stderr,
        )
    build_demo(rag).launch(
        server_name=s.host,
        server_port=s.port,
        auth=auth,
        # Gradio keeps a copy of the page config per browser session (10,000 sessions by
        # default; about 40 KiB each, measured with tracemalloc); this bounds that memory.
        state_session_capacity=SESSIONS_KEPT,
    )
