"""The web chat: Gradio Blocks over :meth:`RAG.stream`, and ``/chat`` for programs.

The page has a Chat tab (answers with their sources in context, a panel that opens the
whole cited document with the quotes highlighted, thumbs up/down, copy), a Check tab
(paste a text: each sentence supported, contradicted or not found, with its quotes) and a
Documents tab (what is indexed, upload, re-index). Every piece of document text reaches the page
escaped: a document holding ``<script>`` shows it as text.
"""

from __future__ import annotations

import html
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: we run offline
# Gradio asks matplotlib for its backend around every call; left to resolve it, matplotlib
# imports pyplot during the first answer (about 0.6 s). A server draws nothing on screen.
os.environ.setdefault("MPLBACKEND", "agg")

import gradio as gr

from rag.answer import Answer
from rag.check import Check
from rag.cite import Citation
from rag.config import Settings
from rag.conversation import earlier_questions
from rag.feedback import feedback_record, save_feedback
from rag.formats import READERS
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
REWRITTEN_TITLE = "Follow-up: searched for"
NOTE_TITLE = "Note"
"""Title of what is said beside an answer (``Answer.note``: the language model was down)."""
REWRITTEN_WHY = (
    "This question leans on the conversation, so the passages were searched for with the "
    "earlier questions it follows; the sentences were chosen for the question itself."
)
CONTEXT_CHARS = 240
"""Characters of the passage shown on each side of a quote in the Sources block."""
VIEW_CHARS = 100_000
"""Longest stretch of a document the viewer shows at once (around the chosen quote)."""
VIEWER_HINT = (
    "<p class='rag-hint'>Cited documents open here, their quotes highlighted: pick a "
    "source above, or click an answer to see its sources.</p>"
)

CSS = """
.rag-source { margin: 0.4em 0 0.8em; }
.rag-source-name { font-weight: 600; }
.rag-context { white-space: pre-wrap; margin-top: 0.2em; }
.rag-document { white-space: pre-wrap; max-height: 70vh; overflow-y: auto; line-height: 1.5; }
.rag-document mark, .rag-context mark { padding: 0 0.1em; }
.rag-document mark.rag-focus { outline: 2px solid #f59e0b; }
.rag-marker { font-size: 0.75em; vertical-align: super; font-weight: 600; }
.rag-check { margin: 0.6em 0; padding: 0.4em 0.6em; border-left: 4px solid #9ca3af; }
.rag-check.rag-supported { border-color: #16a34a; }
.rag-check.rag-contradicted { border-color: #dc2626; }
.rag-verdict { font-weight: 600; }
.rag-check ul { margin: 0.2em 0 0 1.2em; }
"""
CHECK_MARKS = {"supported": "✓", "contradicted": "✗", "not found": "?"}

COPY_JS = """
(text) => {
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text);
  } else {  // plain http on a LAN address: no Clipboard API
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}
"""
TRACK_TQDM = gr.Progress(track_tqdm=True)
"""Indexing's progress bar, shown on the page (Gradio shares a default like this anyway)."""
SCROLL_JS = "() => document.querySelector('.rag-focus')?.scrollIntoView({block: 'center'})"
BLANK_GUARD_JS = """
() => {
  // A blank question is refused here, in the page: Enter and the Ask button do nothing
  // while the box holds only whitespace, so no request is sent.
  const blank = () => {
    const box = document.querySelector("#rag-question textarea");
    return box !== null && box.value.trim() === "";
  };
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && e.target.closest?.("#rag-question") && blank()) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", (e) => {
    if (e.target.closest?.("#rag-question button") && blank()) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
}
"""


# --- what /chat returns: plain text, for programs ---


def reply_messages(answer: Answer) -> list[dict]:
    """The answer, then its numbered sources with quotes in a collapsible block, as text.

    A follow-up that was rewritten from the conversation is preceded by the question
    as searched for, titled :data:`REWRITTEN_TITLE`; a note on the answer (the language
    model was down) by the note, titled :data:`NOTE_TITLE`.
    """
    messages: list[dict] = []
    if answer.rewritten:
        messages.append(_titled(answer.rewritten, REWRITTEN_TITLE))
    if answer.note:
        messages.append(_titled(answer.note, NOTE_TITLE))
    messages.append({"role": "assistant", "content": answer.text})
    if answer.citations:
        sources = "\n\n".join(
            f"{c.marker} {c.source} (characters {c.start}-{c.end}): “{c.quote}”"
            for c in answer.citations
        )
        messages.append(_titled(sources, "Sources"))
    return messages


def _titled(content: str, title: str) -> dict:
    return {"role": "assistant", "content": content, "metadata": {"title": title}}


# --- what the page shows: escaped text and our own few tags ---


def page_messages(answer: Answer) -> list[dict]:
    """:func:`reply_messages` for the page: text escaped, and each source shown in its
    passage with the quote highlighted.

    Gradio's Chatbot inserts message text as (sanitized) HTML even with Markdown off, so
    a document holding ``<img>`` or ``<b>`` would become markup and whatever the
    sanitizer strips would vanish from the quote. Escaped, every character shows as text.
    """
    messages: list[dict] = []
    if answer.rewritten:
        title = f"{REWRITTEN_TITLE}: {_escape(answer.rewritten)}"
        messages.append(_titled(REWRITTEN_WHY, title))
    if answer.note:
        messages.append(_titled(_escape(answer.note), f"{NOTE_TITLE}: {_escape(answer.note)}"))
    messages.append({"role": "assistant", "content": _escape(answer.text)})
    if answer.citations:
        messages.append(
            _titled("".join(_source_html(answer, c) for c in answer.citations), "Sources")
        )
    return messages


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _source_html(answer: Answer, citation: Citation) -> str:
    before, after = citation_context(answer, citation)
    return (
        f"<div class='rag-source'><span class='rag-source-name'>{citation.marker} "
        f"{_escape(citation.source)} (characters {citation.start}-{citation.end})</span>"
        f"<div class='rag-context'>{_escape(before)}<mark>{_escape(citation.quote)}</mark>"
        f"{_escape(after)}</div></div>"
    )


def citation_context(answer: Answer, citation: Citation) -> tuple[str, str]:
    """Text of the cited passage before and after the quote, at most
    :data:`CONTEXT_CHARS` each, cut at a word with "…" where shortened."""
    passage = next((p for p in answer.passages if p.id == citation.passage_id), None)
    if passage is None:
        return "", ""
    before = passage.text[: citation.start - passage.start]
    after = passage.text[citation.end - passage.start :]
    if len(before) > CONTEXT_CHARS:
        before = "…" + before[-CONTEXT_CHARS:].split(" ", 1)[-1]
    if len(after) > CONTEXT_CHARS:
        after = after[:CONTEXT_CHARS].rsplit(" ", 1)[0] + "…"
    return before, after


def document_html(text: str, citations: list[Citation], focus: int | None = None) -> str:
    """A whole document, escaped, with the quotes of ``citations`` highlighted and their
    markers after them; the one numbered ``focus`` is scrolled to. A document longer
    than :data:`VIEW_CHARS` is shown around that quote."""
    quotes = sorted(citations, key=lambda c: c.start)
    focused = next((c for c in quotes if c.number == focus), quotes[0] if quotes else None)
    lo, hi = 0, len(text)
    if hi > VIEW_CHARS:
        middle = focused.start if focused else 0
        lo = max(0, min(middle - VIEW_CHARS // 2, hi - VIEW_CHARS))
        hi = lo + VIEW_CHARS
    parts = (
        [f"<p class='rag-hint'>characters {lo:,}-{hi:,} of {len(text):,}</p>"]
        if lo or hi < len(text)
        else []
    )
    parts.append("<div class='rag-document'>")
    cursor = lo
    for c in quotes:
        if c.start < cursor or c.end > hi:
            continue
        css = "rag-focus" if c is focused else ""
        parts += [
            _escape(text[cursor : c.start]),
            f"<mark class='{css}'>{_escape(text[c.start : c.end])}</mark>",
            f"<span class='rag-marker'>{c.marker}</span>",
        ]
        cursor = c.end
    parts += [_escape(text[cursor:hi]), "</div>"]
    return "".join(parts)


def page_questions(history: list[dict]) -> list[str]:
    """The user's questions in the page's conversation, as asked: the page holds them
    escaped (see :func:`page_messages`)."""
    return [html.unescape(q) for q in earlier_questions(history)]


def copy_text(answer: Answer | None) -> str:
    """What "Copy answer with sources" puts on the clipboard."""
    return "" if answer is None else str(answer)


# --- the app ---


def check_html(result: Check) -> str:
    """The verdicts on a checked text as escaped HTML: a summary line, then each sentence
    with its verdict, the probability behind it and the quotes it rests on."""
    if not result.sentences:
        return "<p class='rag-hint'>Nothing to check: the text has no sentences.</p>"
    counts = ", ".join(f"{result.count(v)} {v}" for v in ("supported", "contradicted", "not found"))
    parts = [f"<p class='rag-check-summary'>{counts}, of {len(result.sentences)} sentences.</p>"]
    for s in result.sentences:
        quotes = "".join(
            f"<li><span class='rag-source-name'>{_escape(c.source)}</span>: "
            f"“{_escape(c.quote)}”</li>"
            for c in s.citations
        )
        parts.append(
            f"<div class='rag-check rag-{s.verdict.replace(' ', '-')}'>"
            f"<span class='rag-verdict'>{CHECK_MARKS[s.verdict]} {s.verdict}</span> "
            f"<span class='rag-score'>({s.score:.2f})</span>"
            f"<div class='rag-claim'>{_escape(s.text)}</div>"
            + (f"<ul>{quotes}</ul>" if quotes else "")
            + "</div>"
        )
    return "\n".join(parts)


def check_record(result: Check) -> list[dict]:
    """The verdicts as plain data, for programs (``/check``)."""
    return [
        {
            "text": s.text,
            "start": s.start,
            "end": s.end,
            "supported": s.supported,
            "verdict": s.verdict,
            "score": s.score,
            "citations": [
                {"source": c.source, "quote": c.quote, "start": c.start, "end": c.end}
                for c in s.citations
            ],
        }
        for s in result.sentences
    ]


def build_demo(rag: RAG) -> gr.Blocks:
    """The chat app for ``rag``.

    Programs call ``/chat`` (``message`` -> list of messages), or ``/follow_up``
    (``message``, ``history`` of earlier questions), and get the text as it is; the page
    shows the same answers escaped, so document text never acts as markup.
    """
    s = rag.settings

    def chat(message: str) -> list[dict]:
        """Answer one question: the answer message, then a Sources message if it cites."""
        return follow_up(message, [])

    def follow_up(message: str, history: list[str]) -> list[dict]:
        """Answer a question that may lean on ``history``, the earlier questions (oldest
        first): as ``chat``, preceded by the rewritten question when it was rewritten."""
        try:
            return reply_messages(rag.answer(str(message or ""), history=history or []))
        except Exception as err:  # the chat must answer something, never show a traceback
            return [_failure(message, err)]

    def take_question(message: str) -> tuple[Any, str]:
        """The submitted question, kept aside; the box empties and stays disabled until
        the answer is complete, so nothing typed meanwhile can be lost (an answer that
        arrived later used to overwrite the box, wiping what was being typed)."""
        return gr.update(value="", interactive=False), str(message or "")

    def respond(
        question: str, history: list[dict], answers: dict[int, Answer]
    ) -> Iterator[tuple[Any, ...]]:
        """Show the question, then the answer as it grows; remember it for the panel.
        It never writes the question box (:func:`take_question` and the step after the
        answer do)."""
        earlier = page_questions(history)
        shown = [*history, {"role": "user", "content": _escape(question)}]
        yield shown, answers, *_panel_unchanged()
        answer = None
        try:
            for answer in rag.stream(question, history=earlier):
                yield [*shown, *page_messages(answer)], answers, *_panel_unchanged()
        except Exception as err:
            yield [*shown, _failure(question, err)], answers, *_panel_unchanged()
            return
        if answer is None:
            return
        messages = page_messages(answer)
        slim = replace(answer, passages=[])  # the passages stay out of per-session state
        # Each of the answer's messages (rewrite, text, sources) opens it in the panel.
        answers = {**answers, **dict.fromkeys(range(len(shown), len(shown) + len(messages)), slim)}
        yield [*shown, *messages], answers, *panel(slim)

    def panel(answer: Answer | None, focus: int | None = None) -> tuple[Any, ...]:
        """The source panel for ``answer``: its sources to pick from, the document of the
        chosen one (default: the first) with the answer's quotes in it highlighted, and
        the text the copy button copies."""
        if answer is None or not answer.citations:
            return gr.update(choices=[], value=None), VIEWER_HINT, answer, copy_text(answer)
        chosen = next((c for c in answer.citations if c.number == focus), answer.citations[0])
        choices = [(f"{c.marker} {c.source}", c.number) for c in answer.citations]
        try:
            text = rag.document_text(chosen.source)
        except KeyError:
            view = f"<p class='rag-hint'>{_escape(chosen.source)} is no longer indexed.</p>"
        else:
            same_doc = [c for c in answer.citations if c.source == chosen.source]
            view = document_html(text, same_doc, chosen.number)
        return gr.update(choices=choices, value=chosen.number), view, answer, copy_text(answer)

    def _panel_unchanged() -> tuple[Any, ...]:
        return gr.update(), gr.update(), gr.update(), gr.update()

    def select_answer(answers: dict[int, Answer], event: gr.SelectData) -> tuple[Any, ...]:
        answer = answers.get(_message_index(event))
        return panel(answer) if answer else _panel_unchanged()

    def pick_source(number: int | None, answer: Answer | None) -> tuple[Any, ...]:
        return panel(answer, number) if answer and number else _panel_unchanged()

    def rate(history: list[dict], answers: dict[int, Answer], event: gr.LikeData) -> None:
        index = _message_index(event)
        answer = answers.get(index)
        if answer is None or not isinstance(event.liked, bool):
            return
        earlier = page_questions(history[:index])[:-1]  # the rated question is last
        save_feedback(s.feedback_file, feedback_record(answer, event.liked, earlier))
        gr.Info(
            "Thanks: your rating was saved." if event.liked else "Thanks: saved, to be looked into."
        )

    def documents_table() -> list[list[Any]]:
        return [[name, chunks] for name, chunks in rag.documents().items()]

    def document_choices() -> dict[str, Any]:
        return gr.update(choices=list(rag.documents()))

    def upload(files: list[str] | None, progress: gr.Progress = TRACK_TQDM) -> tuple[Any, ...]:
        if not s.uploads:  # the hidden control can still be called by hand
            raise gr.Error("Adding documents is turned off here (RAG_UPLOADS=false).")
        if not files:
            return gr.update(), gr.update(), gr.update(value=None)
        report = rag.add_files(files, progress=True)
        return _report_markdown(report), documents_table(), gr.update(value=None)

    def reindex(progress: gr.Progress = TRACK_TQDM) -> tuple[Any, ...]:
        report = rag.ingest(progress=True, wait=600)
        return _report_markdown(report), documents_table()

    def open_document(source: str | None) -> str:
        if not source:
            return ""
        try:
            return document_html(rag.document_text(source), [])
        except KeyError:
            return f"<p class='rag-hint'>{_escape(source)} is not indexed.</p>"

    def check_text(text: str, progress: gr.Progress = TRACK_TQDM) -> str:
        """Verdicts on the pasted text, as HTML; the bar follows the sentences checked."""
        try:
            result = rag.check(str(text or ""), lambda done, total: progress((done, total)))
        except ValueError as err:
            return f"<p class='rag-hint'>{_escape(str(err))}</p>"
        return check_html(result)

    def check(text: str) -> list[dict]:
        """Check a text against the sources: each sentence's verdict, score and quotes."""
        return check_record(rag.check(str(text or "")))

    def intro() -> str:
        count = rag.count()
        if not count:
            return (
                "## Ask the documents\nNo documents are indexed yet: add some in the Documents tab."
            )
        return (
            f"## Ask the documents\nAnswers come only from the {count:,} indexed passages of "
            f"{s.corpus_dir.name}/, each sentence cited with an exact quote. When the sources "
            "don't say, the answer says so. Ask follow-up questions: the conversation is taken "
            "into account."
        )

    count = rag.count()
    with gr.Blocks(title="Ask the documents", fill_height=True) as demo:
        heading = gr.Markdown()
        answers = gr.State({})
        shown_answer = gr.State(None)
        question = gr.State("")  # the question being answered (the box is empty meanwhile)
        with gr.Tab("Chat"), gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    render_markdown=False,
                    label="Answers with sources",
                    height="65vh",
                    buttons=[],
                    placeholder="Ask a question about the documents, or pick an example.",
                    examples=[{"text": q} for q in EXAMPLES] if count else None,
                )
                box = gr.Textbox(
                    placeholder="Ask a question about the documents",
                    show_label=False,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="rag-question",
                )
            with gr.Column(scale=2, min_width=320):
                source_pick = gr.Dropdown(
                    label="Sources of the answer", choices=[], interactive=True
                )
                viewer = gr.HTML(VIEWER_HINT, label="Document")
                plain = gr.Textbox(visible=False)
                copy = gr.Button("Copy answer with sources", size="sm")
        with gr.Tab("Check a text"):
            check_box = gr.Textbox(
                label="Text to check against the documents",
                placeholder="Paste a draft: each sentence is looked up in the documents and "
                "marked supported, contradicted or not found, with the quotes it rests on.",
                lines=8,
                max_lines=30,
            )
            check_button = gr.Button("Check", variant="primary")
            check_view = gr.HTML()
        with gr.Tab("Documents") as documents_tab:
            docs = gr.Dataframe(
                headers=["Document", "Chunks"],
                interactive=False,
                label="Indexed documents",
            )
            status = gr.Markdown()
            with gr.Row():
                files = gr.File(
                    label="Add documents (" + ", ".join(READERS) + ")",
                    file_count="multiple",
                    visible=s.uploads,
                )
                rebuild = gr.Button("Re-index the corpus folder", size="sm")
            doc_pick = gr.Dropdown(label="Open a document", choices=[], interactive=True)
            doc_view = gr.HTML()

        # The page's own events are not an API: programs use /chat.
        page = {"api_visibility": "private"}
        demo.load(intro, None, heading, **page)  # at every page load: the index may have grown
        # Listing reads every chunk's metadata (5 s at 10,000 articles): only when looked at.
        documents_tab.select(documents_table, None, docs, **page)
        panel_outputs = [source_pick, viewer, shown_answer, plain]
        asking = ([question, chatbot, answers], [chatbot, answers, *panel_outputs])
        for asked in (
            box.submit(take_question, box, [box, question], queue=False, **page),
            chatbot.example_select(example_text, None, question, **page).then(
                lambda: gr.update(interactive=False), None, box, queue=False, **page
            ),
        ):
            asked.then(respond, *asking, **page).then(
                lambda: gr.update(interactive=True), None, box, queue=False, **page
            ).then(None, js=SCROLL_JS)
        chatbot.select(select_answer, answers, panel_outputs, **page).then(None, js=SCROLL_JS)
        source_pick.input(pick_source, [source_pick, shown_answer], panel_outputs, **page).then(
            None, js=SCROLL_JS
        )
        chatbot.like(rate, [chatbot, answers], None, **page)
        copy.click(None, plain, None, js=COPY_JS)
        files.upload(upload, files, [status, docs, files], **page)
        rebuild.click(reindex, None, [status, docs], **page)
        doc_pick.change(open_document, doc_pick, doc_view, **page)
        check_button.click(check_text, check_box, check_view, **page)
        docs.change(document_choices, None, doc_pick, **page)
        # Two endpoints, so that a raw HTTP call of /chat with one argument keeps working.
        gr.api(chat, api_name="chat")
        gr.api(follow_up, api_name="follow_up")
        gr.api(check, api_name="check")
    return demo


def _message_index(event: gr.EventData) -> int:
    """The chat message an event (a click, a rating) is about."""
    index = event.index
    return index[0] if isinstance(index, list | tuple) else index


def example_text(event: gr.SelectData) -> str:
    """The example question clicked on the empty chat."""
    return event.value["text"]


def _report_markdown(report: Any) -> str:
    return "```\n" + str(report) + "\n```"


def _failure(question: Any, err: Exception) -> dict:
    log.exception("answering %r failed", str(question)[:200], exc_info=err)
    return {"role": "assistant", "content": ERROR_TEXT.format(kind=type(err).__name__)}


def sync_in_background(rag: RAG) -> None:
    """Bring the index in line with the corpus folder and print what changed, then load
    the BM25 index of hybrid retrieval; a failure is logged (the chat keeps serving the
    index as it is)."""
    try:
        print(rag.ingest(wait=600), file=sys.stderr)
        rag.warm_index()
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
    launch(build_demo(rag), s, server_name=s.host, server_port=s.port, auth=auth)


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
