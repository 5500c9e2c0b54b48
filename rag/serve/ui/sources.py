"""The source panel beside the chat: pick one of an answer's sources and read the whole
cited document with the answer's quotes highlighted; copy the answer with its sources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.ui.assets import COPY_JS, SCROLL_JS
from rag.serve.ui.render import VIEWER_HINT, copy_text, document_html, escape

PRIVATE = {"api_visibility": "private"}
"""The page's own events are not an API: programs use ``/chat``."""


@dataclass
class SourcePanel:
    """The panel's components; :meth:`show` gives their new values for an answer."""

    rag: RAG
    pick: gr.Dropdown
    viewer: gr.HTML
    shown: gr.State
    """The answer the panel shows (its passages left out)."""
    plain: gr.Textbox
    """What the copy button copies (hidden)."""

    @classmethod
    def build(cls, rag: RAG) -> SourcePanel:
        """Lay the panel out where it is called and wire its own controls."""
        panel = cls(
            rag,
            gr.Dropdown(label="Sources of the answer", choices=[], interactive=True),
            gr.HTML(VIEWER_HINT, label="Document"),
            gr.State(None),
            gr.Textbox(visible=False),
        )
        copy = gr.Button("Copy answer with sources", size="sm")
        panel.pick.input(
            panel.pick_source, [panel.pick, panel.shown], panel.outputs, **PRIVATE
        ).then(None, js=SCROLL_JS)
        copy.click(None, panel.plain, None, js=COPY_JS)
        return panel

    @property
    def outputs(self) -> list[Any]:
        """The components :meth:`show` and :meth:`unchanged` give values for, in order."""
        return [self.pick, self.viewer, self.shown, self.plain]

    def show(self, answer: Answer | None, focus: int | None = None) -> tuple[Any, ...]:
        """The panel for ``answer``: its sources to pick from, the document of the chosen
        one (default: the first) with the answer's quotes in it highlighted, and the text
        the copy button copies."""
        if answer is None or not answer.citations:
            return gr.update(choices=[], value=None), VIEWER_HINT, answer, copy_text(answer)
        chosen = next((c for c in answer.citations if c.number == focus), answer.citations[0])
        choices = [(f"{c.marker} {c.source}", c.number) for c in answer.citations]
        try:
            text = self.rag.document_text(chosen.source)
        except KeyError:
            view = f"<p class='rag-hint'>{escape(chosen.source)} is no longer indexed.</p>"
        else:
            same_doc = [c for c in answer.citations if c.source == chosen.source]
            view = document_html(text, same_doc, chosen.number)
        return gr.update(choices=choices, value=chosen.number), view, answer, copy_text(answer)

    @staticmethod
    def unchanged() -> tuple[Any, ...]:
        return gr.update(), gr.update(), gr.update(), gr.update()

    def pick_source(self, number: int | None, answer: Answer | None) -> tuple[Any, ...]:
        return self.show(answer, number) if answer and number else self.unchanged()
