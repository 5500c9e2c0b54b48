"""The sidebar: the collection asked, and the user's saved conversations (reopen one with
its answers and sources as they were, start a new one, rename, delete).

Conversations are kept per user (:mod:`rag.history`): the login's name, or one
anonymous user when the chat has no login.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.history import ANONYMOUS, SavedTurn
from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.ui.render import escape, page_messages
from rag.serve.ui.sources import PRIVATE

SAVED_ID = "rag-saved"
"""The saved conversations' list's element id (for tests, as people see it)."""


def user_of(request: gr.Request | None) -> str:
    """Whose conversations: the logged-in user's, else the one anonymous user's."""
    return (request.username if request is not None else None) or ANONYMOUS


@dataclass
class Sidebar:
    """The sidebar's components, and the state of the conversation on the page."""

    collection: gr.Dropdown
    saved: gr.Radio
    """The user's saved conversations; its value is the one on the page (None: new)."""
    title: gr.Textbox
    rename: gr.Button
    delete: gr.Button
    new: gr.Button
    turns: gr.State
    """Message index -> the saved turn it belongs to (what a rating is recorded on)."""

    @classmethod
    def build(cls, rag: RAG) -> Sidebar:
        """Lay the sidebar out (it opens on wide screens, folds away on a phone)."""
        with gr.Sidebar(label="Conversations", open=True, position="left"):
            names = rag.collection_names()
            collection = gr.Dropdown(
                names,
                value=rag.settings.collection,
                label="Collection",
                info="The documents asked",
                interactive=True,
            )
            new = gr.Button("New conversation", size="sm", variant="primary")
            saved = gr.Radio(
                [], value=None, label="Saved conversations", interactive=True, elem_id=SAVED_ID
            )
            title = gr.Textbox(placeholder="A new title", show_label=False, max_lines=1)
            with gr.Row():
                rename = gr.Button("Rename", size="sm")
                delete = gr.Button("Delete", size="sm", variant="stop")
        return cls(collection, saved, title, rename, delete, new, gr.State({}))

    def listing(self, rag: RAG, user: str, chosen: str | None) -> dict[str, Any]:
        """The saved conversations' list for ``user``, ``chosen`` selected."""
        choices = [(c.label, c.id) for c in rag.history.conversations(user)]
        return gr.update(choices=choices, value=chosen)


def reopened(rag: RAG, turns: list[SavedTurn]) -> tuple[list[dict], dict[int, Answer], dict]:
    """A saved conversation as the page shows it: its messages, each message's answer
    (for the source panel and ratings) and saved turn. A citation whose document changed
    since it was given says so under its source."""
    messages: list[dict] = []
    answers: dict[int, Answer] = {}
    turn_of: dict[int, str] = {}
    for turn in turns:
        answer = turn.answer
        target = rag.collection(answer.collection) if answer.collection else rag
        notes = {}
        for citation in answer.citations:
            pinned = target.cited_version(citation)
            if pinned.changed:
                kept = " The version quoted opens beside." if pinned.quoted_text else ""
                notes[citation.number] = f"{citation.marker} {pinned.sentence}{kept}"
        messages.append({"role": "user", "content": escape(answer.question)})
        shown = page_messages(answer, notes)
        for i in range(len(messages), len(messages) + len(shown)):
            answers[i], turn_of[i] = answer, turn.id
        messages += shown
    return messages, answers, turn_of


def wire_sidebar(
    rag: RAG, bar: Sidebar, chatbot: gr.Chatbot, answers: gr.State, panel: Any, demo: gr.Blocks
) -> None:
    """Listing at page load, reopening, starting anew (also when the collection is
    changed), renaming and deleting."""
    page = [chatbot, answers, bar.turns, bar.saved, *panel.outputs]

    def cleared(user: str) -> tuple[Any, ...]:
        return [], {}, {}, bar.listing(rag, user, None), *panel.show(None)

    def load(request: gr.Request) -> tuple[Any, ...]:
        listing = bar.listing(rag, user_of(request), None)
        return listing, gr.update(choices=rag.collection_names())

    def reopen(chosen: str | None, request: gr.Request) -> tuple[Any, ...]:
        user = user_of(request)
        if not chosen:
            return (*cleared(user), gr.update())
        try:
            found = rag.history.get(chosen, user)
            turns = rag.history.turns(chosen, user)
        except KeyError:
            gr.Warning("That conversation is no longer saved.")
            return (*cleared(user), gr.update())
        messages, shown, turn_of = reopened(rag, turns)
        last = shown.get(len(messages) - 1)
        return (
            messages,
            shown,
            turn_of,
            bar.listing(rag, user, chosen),
            *panel.show(last),
            gr.update(value=found.collection),
        )

    def start_anew(request: gr.Request) -> tuple[Any, ...]:
        return cleared(user_of(request))

    def rename(chosen: str | None, title: str, request: gr.Request) -> tuple[Any, ...]:
        user = user_of(request)
        if not chosen:
            gr.Warning("Open a saved conversation to rename it.")
            return gr.update(), gr.update()
        try:
            rag.history.rename(chosen, user, title)
        except (KeyError, ValueError) as err:
            gr.Warning(str(err.args[0] if err.args else err))
            return gr.update(), gr.update()
        return bar.listing(rag, user, chosen), ""

    def delete(chosen: str | None, request: gr.Request) -> tuple[Any, ...]:
        user = user_of(request)
        if chosen:
            with suppress(KeyError):  # already gone
                rag.history.delete(chosen, user)
            gr.Info("The conversation was deleted.")
        return cleared(user)

    demo.load(load, None, [bar.saved, bar.collection], **PRIVATE)
    bar.saved.input(reopen, bar.saved, [*page, bar.collection], **PRIVATE)
    bar.new.click(start_anew, None, page, **PRIVATE)
    chatbot.clear(start_anew, None, page, **PRIVATE)  # its own bin button: a new one too
    bar.collection.input(start_anew, None, page, **PRIVATE)
    bar.rename.click(rename, [bar.saved, bar.title], [bar.saved, bar.title], **PRIVATE)
    bar.title.submit(rename, [bar.saved, bar.title], [bar.saved, bar.title], **PRIVATE)
    bar.delete.click(delete, bar.saved, page, **PRIVATE)
