"""The source panel beside the chat: pick one of an answer's sources and read the whole
cited document with the answer's quotes highlighted (a PDF or a picture as the page
itself, the quote's boxes drawn on it); download the original; copy the answer with its
sources."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr

from rag.documents.formats import UnreadableFile
from rag.documents.pages import PAGED, PageView, page_view
from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.reading.cite import Citation
from rag.serve.ui.assets import COPY_JS, SCROLL_JS
from rag.serve.ui.render import VIEWER_HINT, copy_text, document_html, escape, page_html

log = logging.getLogger(__name__)

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
    original: gr.DownloadButton
    """Downloads the cited file, when it is in the corpus folder."""

    @classmethod
    def build(cls, rag: RAG) -> SourcePanel:
        """Lay the panel out where it is called and wire its own controls."""
        panel = cls(
            rag,
            gr.Dropdown(label="Sources of the answer", choices=[], interactive=True),
            gr.HTML(VIEWER_HINT, label="Document"),
            gr.State(None),
            gr.Textbox(visible=False),
            gr.DownloadButton("Download the original", size="sm", visible=False),
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
        return [self.pick, self.viewer, self.shown, self.plain, self.original]

    def show(self, answer: Answer | None, focus: int | None = None) -> tuple[Any, ...]:
        """The panel for ``answer``: its sources to pick from, the document of the chosen
        one (default: the first) with the answer's quotes in it highlighted, and the text
        the copy button copies."""
        hidden = gr.update(visible=False, value=None)
        if answer is None or not answer.citations:
            return gr.update(choices=[], value=None), VIEWER_HINT, answer, copy_text(answer), hidden
        chosen = next((c for c in answer.citations if c.number == focus), answer.citations[0])
        choices = [(f"{c.marker} {c.location}", c.number) for c in answer.citations]
        target = self.rag.collection(answer.collection) if answer.collection else self.rag
        same_doc = [c for c in answer.citations if c.source == chosen.source]
        pinned = target.cited_version(chosen)
        path = None
        if pinned.changed and pinned.quoted_text is not None:
            view = hint(f"{pinned.sentence} Shown here: the version quoted.") + document_html(
                pinned.quoted_text,
                [c for c in same_doc if c.version == chosen.version],
                chosen.number,
            )
        else:
            try:
                path = target.document_file(chosen.source)
                # A changed document's pages no longer hold the quote where it was.
                view = self.view(target, chosen, same_doc, None if pinned.changed else path)
            except KeyError:
                view = hint(f"{chosen.source} is no longer indexed.")
        original = gr.update(visible=True, value=str(_download_copy(path))) if path else hidden
        return (
            gr.update(choices=choices, value=chosen.number),
            view,
            answer,
            copy_text(answer),
            original,
        )

    @staticmethod
    def view(target: RAG, chosen: Citation, same_doc: list[Citation], path: Path | None) -> str:
        """The cited place in the collection ``target``: the page itself for a PDF or a
        picture, with the quote's boxes on it; else the document text scrolled to the
        quote, under where it is. ``path`` is the cited file (:meth:`RAG.document_file`),
        read once by the caller. A quote no longer where it was (its document changed) is
        not highlighted. Raises KeyError for a document no longer indexed."""
        if chosen.page is not None and path is not None and path.suffix.lower() in PAGED:
            start = target.document_layout(chosen.source).page_start(chosen.page)
            if start is not None:
                try:
                    changed = path.stat().st_mtime_ns
                    where = (chosen.page, chosen.start - start, chosen.end - start)
                    shown = _page_view(path, changed, *where)
                    return page_html(shown, chosen)
                except (UnreadableFile, OSError) as err:  # the text view still shows it
                    log.warning("cannot show page %s of %s: %s", chosen.page, path, err)
        text = target.document_text(chosen.source)
        where = hint(chosen.location) if chosen.location != chosen.source else ""
        still = [c for c in same_doc if text[c.start : c.end] == c.quote]
        return where + document_html(text, still, chosen.number)

    @staticmethod
    def unchanged() -> tuple[Any, ...]:
        return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()

    def pick_source(self, number: int | None, answer: Answer | None) -> tuple[Any, ...]:
        return self.show(answer, number) if answer and number else self.unchanged()


def hint(text: str) -> str:
    """A line about what the panel shows, escaped."""
    return f"<p class='rag-hint'>{escape(text)}</p>"


@lru_cache(maxsize=32)
def _page_view(path: Path, mtime_ns: int, page: int, start: int, end: int) -> PageView:
    """:func:`page_view`, kept for the file as it is (a scanned page is read again by OCR,
    ~2 s)."""
    return page_view(path, page, start, end)


def _download_copy(path: Path) -> Path:
    """A copy of a corpus file in the temporary folder, which Gradio serves downloads
    from; the corpus folder itself is never opened to the page's file route, so nothing
    but a cited file can be fetched through it."""
    stat = path.stat()
    key = hashlib.sha256(f"{path}\x00{stat.st_mtime_ns}\x00{stat.st_size}".encode()).hexdigest()
    copy = Path(tempfile.gettempdir()) / "rag-originals" / key[:24] / path.name
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_name(copy.name + ".part")
        shutil.copyfile(path, partial)
        partial.replace(copy)
    return copy
