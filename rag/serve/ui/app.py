"""The whole page: the tabs put together, ``/chat`` for programs; :func:`launch` serves it
alone (tests), :mod:`rag.serve.server` beside the API."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from rag.config import Settings
from rag.pipeline import RAG
from rag.serve.gate import Gate
from rag.serve.ui.assets import BLANK_GUARD_JS, CSS
from rag.serve.ui.chat import ChatColumn, wire_chat
from rag.serve.ui.check import check_tab
from rag.serve.ui.conversations import Sidebar, wire_sidebar
from rag.serve.ui.documents import documents_tab
from rag.serve.ui.feedback import wire_feedback
from rag.serve.ui.render import check_record, failure, reply_messages
from rag.serve.ui.sources import PRIVATE, SourcePanel

log = logging.getLogger(__name__)

SESSIONS_KEPT = 1000


def build_demo(rag: RAG, gate: Gate | None = None) -> gr.Blocks:
    """The chat app for ``rag``, its answers and checks computed inside ``gate``
    (default: one of ``RAG_ANSWERS_AT_ONCE`` slots).

    Programs call ``/chat`` (``message`` -> list of messages), or ``/follow_up``
    (``message``, ``history`` of earlier questions), and get the text as it is; the page
    shows the same answers escaped, so document text never acts as markup.
    """
    gate = gate or Gate(rag.settings.answer_slots)
    with gr.Blocks(title="Ask the documents", fill_height=True) as demo:
        bar = Sidebar.build(rag)
        heading = gr.Markdown()
        with gr.Tab("Chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                column = ChatColumn.build(has_documents=bool(rag.count()))
            with gr.Column(scale=2, min_width=320):
                panel = SourcePanel.build(rag)
        wire_chat(rag, column, panel, bar, gate)
        wire_sidebar(rag, bar, column.chatbot, column.answers, panel, demo)
        wire_feedback(rag, column, bar)
        with gr.Tab("Check a text"):
            check_tab(rag, gate)
        with gr.Tab("Documents") as tab:
            documents_tab(rag, tab, bar.collection)
        # At every page load: the index may have grown.
        demo.load(lambda: intro(rag), None, heading, **PRIVATE)
        bar.collection.change(lambda name: intro(rag, name), bar.collection, heading, **PRIVATE)
        endpoints(rag, gate)
    return demo


def intro(rag: RAG, collection: str | None = None) -> str:
    """The heading: what the chat answers from, or that nothing is indexed yet."""
    target = rag.collection(collection) if collection else rag
    count = target.count()
    if not count:
        return "## Ask the documents\nNo documents are indexed yet: add some in the Documents tab."
    named = "" if target is rag else f" (collection {target.settings.collection})"
    return (
        f"## Ask the documents\nAnswers come only from the {count:,} indexed passages of "
        f"{target.corpus_dir.name}/{named}, each sentence cited with an exact quote. When the "
        "sources don't say, the answer says so. Ask follow-up questions: the conversation "
        "is taken into account."
    )


def endpoints(rag: RAG, gate: Gate) -> None:
    """The API for programs: plain text and data, no page markup."""

    def chat(message: str) -> list[dict]:
        """Answer one question: the answer message, then a Sources message if it cites."""
        return follow_up(message, [])

    def follow_up(message: str, history: list[str]) -> list[dict]:
        """Answer a question that may lean on ``history``, the earlier questions (oldest
        first): as ``chat``, preceded by the rewritten question when it was rewritten."""
        try:
            with gate:
                answer = rag.answer(str(message or ""), history=history or [])
            return reply_messages(answer)
        except Exception as err:  # the chat must answer something, never show a traceback
            return [failure(message, err)]

    def check(text: str) -> list[dict]:
        """Check a text against the sources: each sentence's verdict, score and quotes."""
        with gate:
            return check_record(rag.check(str(text or "")))

    # Two endpoints, so that a raw HTTP call of /chat with one argument keeps working.
    gr.api(chat, api_name="chat")
    gr.api(follow_up, api_name="follow_up")
    gr.api(check, api_name="check")


def launch(demo: gr.Blocks, settings: Settings, **options: Any) -> None:
    """Start ``demo`` with the page's style and the server's limits; ``options`` go to
    :meth:`gradio.Blocks.launch` (address, login, ``prevent_thread_lock`` in tests)."""
    demo.launch(
        css=CSS,
        js=BLANK_GUARD_JS,
        max_file_size=settings.max_file_bytes,
        # Gradio keeps a copy of the page config per browser session (10,000 sessions by
        # default; about 40 KiB each, measured with tracemalloc); this bounds that memory.
        state_session_capacity=SESSIONS_KEPT,
        **options,
    )
