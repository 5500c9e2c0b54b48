"""Thumbs up/down on an answer: saved with the question and the conversation before it
(:mod:`rag.serve.feedback` stores it)."""

from __future__ import annotations

from contextlib import suppress

import gradio as gr

from rag.pipeline import RAG
from rag.reading.answer import Answer
from rag.serve.feedback import feedback_record, save_feedback
from rag.serve.ui.chat import ChatColumn, message_index
from rag.serve.ui.conversations import Sidebar, user_of
from rag.serve.ui.render import page_questions
from rag.serve.ui.sources import PRIVATE


def wire_feedback(rag: RAG, column: ChatColumn, bar: Sidebar) -> None:
    """Save each rating of an answer in the chat to ``RAG_FEEDBACK_FILE``, and on the
    saved answer it rates (so a reopened conversation keeps it)."""

    def rate(
        history: list[dict],
        answers: dict[int, Answer],
        turns: dict[int, str],
        event: gr.LikeData,
        request: gr.Request,
    ) -> None:
        index = message_index(event)
        answer = answers.get(index)
        if answer is None or not isinstance(event.liked, bool):
            return
        user, turn = user_of(request), turns.get(index)
        earlier = page_questions(history[:index])[:-1]  # the rated question is last
        record = feedback_record(answer, event.liked, earlier)
        record |= {"user": user, "turn": turn}
        save_feedback(rag.settings.feedback_file, record)
        if turn is not None:
            with suppress(KeyError):  # the conversation was deleted meanwhile
                rag.history.rate(turn, user, event.liked)
        gr.Info(
            "Thanks: your rating was saved." if event.liked else "Thanks: saved, to be looked into."
        )

    column.chatbot.like(rate, [column.chatbot, column.answers, bar.turns], None, **PRIVATE)
