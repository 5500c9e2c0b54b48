"""The "Check a text" tab: paste a draft, see which of its sentences the documents back."""

from __future__ import annotations

import gradio as gr

from rag.pipeline import RAG
from rag.serve.gate import Gate
from rag.serve.ui.documents import TRACK_TQDM
from rag.serve.ui.render import check_html, escape
from rag.serve.ui.sources import PRIVATE


def check_tab(rag: RAG, gate: Gate) -> None:
    """Lay the tab's contents out where it is called and wire them; checks are computed
    inside ``gate``, as answers are."""

    def check_text(text: str, progress: gr.Progress = TRACK_TQDM) -> str:
        """Verdicts on the pasted text, as HTML; the bar follows the sentences checked."""
        try:
            with gate:
                result = rag.check(str(text or ""), lambda done, total: progress((done, total)))
        except ValueError as err:
            return f"<p class='rag-hint'>{escape(str(err))}</p>"
        return check_html(result)

    box = gr.Textbox(
        label="Text to check against the documents",
        placeholder="Paste a draft: each sentence is looked up in the documents and "
        "marked supported, contradicted or not found, with the quotes it rests on.",
        lines=8,
        max_lines=30,
    )
    button = gr.Button("Check", variant="primary")
    view = gr.HTML()
    button.click(check_text, box, view, **PRIVATE)
