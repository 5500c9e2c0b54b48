"""The chat column: the question box and the conversation, answers streamed as they grow.

Submitting moves the question out of the box into state and disables the box until the
answer is complete, so nothing typed meanwhile can be lost (an answer that arrived later
used to overwrite the box, wiping what was being typed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.ui.assets import QUESTION_ID, SCROLL_JS
from rag.serve.ui.render import escape, failure, page_messages, page_questions
from rag.serve.ui.sources import PRIVATE, SourcePanel

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


def wire_chat(rag: RAG, column: ChatColumn, panel: SourcePanel) -> None:
    """Asking (typed or an example), streaming the answer, and opening an answer's
    sources in the panel when it is clicked."""

    def respond(
        question: str, history: list[dict], answers: dict[int, Answer]
    ) -> Iterator[tuple[Any, ...]]:
        """Show the question, then the answer as it grows; remember it for the panel.
        It never writes the question box (:func:`take_question` and the step after the
        answer do)."""
        earlier = page_questions(history)
        shown = [*history, {"role": "user", "content": escape(question)}]
        yield shown, answers, *panel.unchanged()
        answer = None
        try:
            for answer in rag.stream(question, history=earlier):
                yield [*shown, *page_messages(answer)], answers, *panel.unchanged()
        except Exception as err:
            yield [*shown, failure(question, err)], answers, *panel.unchanged()
            return
        if answer is None:
            return
        messages = page_messages(answer)
        slim = replace(answer, passages=[])  # the passages stay out of per-session state
        # Each of the answer's messages (rewrite, text, sources) opens it in the panel.
        answers = {**answers, **dict.fromkeys(range(len(shown), len(shown) + len(messages)), slim)}
        yield [*shown, *messages], answers, *panel.show(slim)

    def select_answer(answers: dict[int, Answer], event: gr.SelectData) -> tuple[Any, ...]:
        answer = answers.get(message_index(event))
        return panel.show(answer) if answer else panel.unchanged()

    box, chatbot = column.box, column.chatbot
    asking = (
        [column.question, chatbot, column.answers],
        [chatbot, column.answers, *panel.outputs],
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
