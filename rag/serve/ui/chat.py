"""The chat column: the question box and the conversation, answers streamed as they grow.

Submitting moves the question out of the box into state and disables the box until the
answer is complete, so nothing typed meanwhile can be lost (an answer that arrived later
used to overwrite the box, wiping what was being typed).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.gate import Gate
from rag.serve.ui.assets import QUESTION_ID, SCROLL_JS
from rag.serve.ui.conversations import Sidebar, user_of
from rag.serve.ui.render import escape, failure, page_messages, page_questions
from rag.serve.ui.sources import PRIVATE, SourcePanel

log = logging.getLogger(__name__)

EXAMPLES = [
    "What would Ukraine receive in exchange for ceding territory?",
    "Was Ukraine involved in preparing the framework?",
    "How did European diplomats describe the proposal?",
]


@dataclass
class ChatColumn:
    """The column's components and the per-session state its events share."""

    chatbot: gr.Chatbot
    box: gr.Textbox
    question: gr.State
    """The question being answered (the box is empty meanwhile)."""
    answers: gr.State
    """Message index -> the answer that message belongs to (for the panel, the ratings)."""

    @classmethod
    def build(cls, has_documents: bool) -> ChatColumn:
        """Lay the column out where it is called; examples only when there is an index."""
        chatbot = gr.Chatbot(
            render_markdown=False,
            label="Answers with sources",
            height="65vh",
            buttons=[],
            placeholder="Ask a question about the documents, or pick an example.",
            examples=[{"text": q} for q in EXAMPLES] if has_documents else None,
        )
        box = gr.Textbox(
            placeholder="Ask a question about the documents",
            show_label=False,
            submit_btn="Ask",
            autofocus=True,
            elem_id=QUESTION_ID,
        )
        return cls(chatbot, box, gr.State(""), gr.State({}))


def wire_chat(rag: RAG, column: ChatColumn, panel: SourcePanel, bar: Sidebar, gate: Gate) -> None:
    """Asking (typed or an example) in the collection picked, streaming the answer (each
    step computed inside ``gate``), saving it in the conversation, and opening an
    answer's sources in the panel when it is clicked."""

    def respond(
        question: str,
        history: list[dict],
        answers: dict[int, Answer],
        collection: str | None,
        conversation: str | None,
        turns: dict[int, str],
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        """Show the question, then the answer as it grows; remember it for the panel and
        save it. It never writes the question box (:func:`take_question` and the step
        after the answer do)."""
        target = rag.collection(collection) if collection else rag
        earlier = page_questions(history)
        shown = [*history, {"role": "user", "content": escape(question)}]
        kept = (answers, turns, gr.update())
        yield shown, *kept, *panel.unchanged()
        answer = None
        try:
            for answer in gate.through(target.stream(question, history=earlier)):
                yield [*shown, *page_messages(answer)], *kept, *panel.unchanged()
        except Exception as err:
            yield [*shown, failure(question, err)], *kept, *panel.unchanged()
            return
        if answer is None:
            return
        messages = page_messages(answer)
        saved, conversation = save(answer, conversation, user_of(request))
        slim = replace(answer, passages=[])  # the passages stay out of per-session state
        # Each of the answer's messages (rewrite, text, sources) opens it in the panel.
        indices = range(len(shown), len(shown) + len(messages))
        answers = {**answers, **dict.fromkeys(indices, slim)}
        turns = {**turns, **dict.fromkeys(indices, saved)} if saved else turns
        listing = bar.listing(rag, user_of(request), conversation)
        yield [*shown, *messages], answers, turns, listing, *panel.show(slim)

    def save(answer: Answer, conversation: str | None, user: str) -> tuple[str | None, str | None]:
        """Keep the answer in the user's conversation (started by its first question);
        the saved turn and the conversation. A refusal (an empty question) is not kept;
        a failure to save is logged and the answer still shown."""
        if not answer.question:
            return None, conversation
        try:
            if conversation is None:
                conversation = rag.history.start(user, answer.collection, answer.question).id
            return rag.history.add(conversation, user, answer), conversation
        except (KeyError, OSError, sqlite3.Error):
            log.exception("saving the answer to %r in the conversation failed", answer.question)
            return None, conversation

    def select_answer(answers: dict[int, Answer], event: gr.SelectData) -> tuple[Any, ...]:
        answer = answers.get(message_index(event))
        return panel.show(answer) if answer else panel.unchanged()

    box, chatbot = column.box, column.chatbot
    asking = (
        [column.question, chatbot, column.answers, bar.collection, bar.saved, bar.turns],
        [chatbot, column.answers, bar.turns, bar.saved, *panel.outputs],
    )
    for asked in (
        box.submit(take_question, box, [box, column.question], queue=False, **PRIVATE),
        chatbot.example_select(example_text, None, column.question, **PRIVATE).then(
            lambda: gr.update(interactive=False), None, box, queue=False, **PRIVATE
        ),
    ):
        asked.then(respond, *asking, **PRIVATE).then(
            lambda: gr.update(interactive=True), None, box, queue=False, **PRIVATE
        ).then(None, js=SCROLL_JS)
    chatbot.select(select_answer, column.answers, panel.outputs, **PRIVATE).then(None, js=SCROLL_JS)


def take_question(message: str) -> tuple[Any, str]:
    """The submitted question, kept aside; the box empties and stays disabled until the
    answer is complete."""
    return gr.update(value="", interactive=False), str(message or "")


def example_text(event: gr.SelectData) -> str:
    """The example question clicked on the empty chat."""
    return event.value["text"]


def message_index(event: gr.EventData) -> int:
    """The chat message an event (a click, a rating) is about."""
    index = event.index
    return index[0] if isinstance(index, list | tuple) else index
