"""What an answer looks like on the page (escaped HTML) and to programs (plain text).

Every piece of document text reaches the page escaped: a document holding ``<script>``
shows it as text.
"""

from __future__ import annotations

import base64
import html
import logging
from collections.abc import Mapping
from typing import Any

from rag.documents.pages import PageView
from rag.reading.answer import Answer
from rag.reading.check import Check
from rag.reading.cite import Citation
from rag.reading.conversation import earlier_questions

log = logging.getLogger(__name__)

ERROR_TEXT = (
    "Sorry, something went wrong while answering ({kind}). The error was logged on the "
    "server; please try again or rephrase the question."
)
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

CHECK_MARKS = {"supported": "✓", "contradicted": "✗", "not found": "?"}


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
            f"{c.marker} {c.location} (characters {c.start}-{c.end}): “{c.quote}”"
            for c in answer.citations
        )
        messages.append(_titled(sources, "Sources"))
    return messages


def _titled(content: str, title: str) -> dict:
    return {"role": "assistant", "content": content, "metadata": {"title": title}}


# --- what the page shows: escaped text and our own few tags ---


def page_messages(answer: Answer, notes: Mapping[int, str] | None = None) -> list[dict]:
    """:func:`reply_messages` for the page: text escaped, and each source shown in its
    passage with the quote highlighted.

    Gradio's Chatbot inserts message text as (sanitized) HTML even with Markdown off, so
    a document holding ``<img>`` or ``<b>`` would become markup and whatever the
    sanitizer strips would vanish from the quote. Escaped, every character shows as text.
    ``notes`` are said under a source, by citation number (a saved answer's document
    changed since).
    """
    messages: list[dict] = []
    if answer.rewritten:
        title = f"{REWRITTEN_TITLE}: {escape(answer.rewritten)}"
        messages.append(_titled(REWRITTEN_WHY, title))
    if answer.note:
        messages.append(_titled(escape(answer.note), f"{NOTE_TITLE}: {escape(answer.note)}"))
    messages.append({"role": "assistant", "content": escape(answer.text)})
    if answer.citations:
        messages.append(
            _titled(
                "".join(
                    _source_html(answer, c, (notes or {}).get(c.number)) for c in answer.citations
                ),
                "Sources",
            )
        )
    return messages


def escape(text: str) -> str:
    """Text shown as text: ``<``, ``>`` and ``&`` escaped (quotes need not be)."""
    return html.escape(text, quote=False)


def _source_html(answer: Answer, citation: Citation, note: str | None = None) -> str:
    before, after = citation_context(answer, citation)
    said = f"<div class='rag-pin'>{escape(note)}</div>" if note else ""
    return (
        f"<div class='rag-source'><span class='rag-source-name'>{citation.marker} "
        f"{escape(citation.location)} (characters {citation.start}-{citation.end})</span>"
        f"{said}<div class='rag-context'>{escape(before)}<mark>{escape(citation.quote)}</mark>"
        f"{escape(after)}</div></div>"
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
            escape(text[cursor : c.start]),
            f"<mark class='{css}'>{escape(text[c.start : c.end])}</mark>",
            f"<span class='rag-marker'>{c.marker}</span>",
        ]
        cursor = c.end
    parts += [escape(text[cursor:hi]), "</div>"]
    return "".join(parts)


def page_html(view: PageView, citation: Citation) -> str:
    """A rendered page with the quote's boxes highlighted over it, and where it is."""
    marks = "".join(
        f"<div class='rag-box{' rag-focus' if n == 0 else ''}' style='"
        f"left:{left:.2%};top:{top:.2%};width:{right - left:.2%};height:{bottom - top:.2%}'></div>"
        for n, (left, top, right, bottom) in enumerate(view.boxes)
    )
    picture = base64.b64encode(view.png).decode()
    return (
        f"<p class='rag-hint'>{escape(citation.location)}</p>"
        f"<div class='rag-page'><img alt='{escape(citation.location)}' "
        f"src='data:image/png;base64,{picture}' width='{view.width}' height='{view.height}'>"
        f"{marks}</div>"
    )


def page_questions(history: list[dict]) -> list[str]:
    """The user's questions in the page's conversation, as asked: the page holds them
    escaped (see :func:`page_messages`)."""
    return [html.unescape(q) for q in earlier_questions(history)]


def copy_text(answer: Answer | None) -> str:
    """What "Copy answer with sources" puts on the clipboard."""
    return "" if answer is None else str(answer)


def check_html(result: Check) -> str:
    """The verdicts on a checked text as escaped HTML: a summary line, then each sentence
    with its verdict, the probability behind it and the quotes it rests on."""
    if not result.sentences:
        return "<p class='rag-hint'>Nothing to check: the text has no sentences.</p>"
    counts = ", ".join(f"{result.count(v)} {v}" for v in ("supported", "contradicted", "not found"))
    parts = [f"<p class='rag-check-summary'>{counts}, of {len(result.sentences)} sentences.</p>"]
    for s in result.sentences:
        quotes = "".join(
            f"<li><span class='rag-source-name'>{escape(c.location)}</span>: "
            f"“{escape(c.quote)}”</li>"
            for c in s.citations
        )
        parts.append(
            f"<div class='rag-check rag-{s.verdict.replace(' ', '-')}'>"
            f"<span class='rag-verdict'>{CHECK_MARKS[s.verdict]} {s.verdict}</span> "
            f"<span class='rag-score'>({s.score:.2f})</span>"
            f"<div class='rag-claim'>{escape(s.text)}</div>"
            + (f"<ul>{quotes}</ul>" if quotes else "")
            + "</div>"
        )
    return "\n".join(parts)


def check_record(result: Check) -> list[dict]:
    """The verdicts as plain data, for programs (``/check``)."""
    return [s.record() for s in result.sentences]


def failure(question: Any, err: Exception) -> dict:
    """The message shown instead of an answer that failed; the error goes to the log."""
    log.exception("answering %r failed", str(question)[:200], exc_info=err)
    return {"role": "assistant", "content": ERROR_TEXT.format(kind=type(err).__name__)}
