"""The Documents tab: what is indexed, adding files, re-indexing, reading a document."""

from __future__ import annotations

from typing import Any

import gradio as gr

from rag.documents.formats import READERS
from rag.pipeline import RAG
from rag.serve.ui.render import document_html, escape
from rag.serve.ui.sources import PRIVATE

TRACK_TQDM = gr.Progress(track_tqdm=True)
"""Indexing's progress bar, shown on the page (Gradio shares a default like this anyway)."""


def documents_tab(rag: RAG, tab: gr.Tab, collection: gr.Dropdown) -> None:
    """Lay the tab's contents out where it is called (inside ``tab``) and wire them; it
    shows and changes the collection picked in ``collection``."""
    uploads = rag.settings.uploads

    def picked(name: str | None) -> RAG:
        return rag.collection(name) if name else rag

    def documents_table(name: str | None) -> list[list[Any]]:
        return [[source, chunks] for source, chunks in picked(name).documents().items()]

    def document_choices(name: str | None) -> dict[str, Any]:
        return gr.update(choices=list(picked(name).documents()), value=None)

    def upload(
        files: list[str] | None, name: str | None, progress: gr.Progress = TRACK_TQDM
    ) -> tuple[Any, ...]:
        if not uploads:  # the hidden control can still be called by hand
            raise gr.Error("Adding documents is turned off here (RAG_UPLOADS=false).")
        if not files:
            return gr.update(), gr.update(), gr.update(value=None)
        report = picked(name).add_files(files, progress=True)
        return report_markdown(report), documents_table(name), gr.update(value=None)

    def reindex(name: str | None, progress: gr.Progress = TRACK_TQDM) -> tuple[Any, ...]:
        report = picked(name).ingest(progress=True, wait=600)
        return report_markdown(report), documents_table(name)

    def open_document(source: str | None, name: str | None) -> str:
        if not source:
            return ""
        try:
            return document_html(picked(name).document_text(source), [])
        except KeyError:
            return f"<p class='rag-hint'>{escape(source)} is not indexed.</p>"

    docs = gr.Dataframe(
        headers=["Document", "Chunks"], interactive=False, label="Indexed documents"
    )
    status = gr.Markdown()
    with gr.Row():
        files = gr.File(
            label="Add documents (" + ", ".join(READERS) + ")",
            file_count="multiple",
            visible=uploads,
        )
        rebuild = gr.Button("Re-index the collection's folders", size="sm")
    doc_pick = gr.Dropdown(label="Open a document", choices=[], interactive=True)
    doc_view = gr.HTML()

    # Listing reads every chunk's metadata (5 s at 10,000 articles): only when looked at.
    tab.select(documents_table, collection, docs, **PRIVATE)
    collection.change(documents_table, collection, docs, **PRIVATE)
    files.upload(upload, [files, collection], [status, docs, files], **PRIVATE)
    rebuild.click(reindex, collection, [status, docs], **PRIVATE)
    doc_pick.change(open_document, [doc_pick, collection], doc_view, **PRIVATE)
    docs.change(document_choices, collection, doc_pick, **PRIVATE)


def report_markdown(report: Any) -> str:
    return "```\n" + str(report) + "\n```"
