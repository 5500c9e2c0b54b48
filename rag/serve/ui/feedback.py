"""Thumbs up/down on an answer: saved with the question and the conversation before it
(:mod:`rag.serve.feedback` stores it)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from rag.reading.answer import Answer
from rag.serve.feedback import feedback_record, save_feedback
from rag.serve.ui.chat import ChatColumn, message_index
from rag.serve.ui.render import page_questions
from rag.serve.ui.sources import PRIVATE


def wire_feedback(column: ChatColumn, feedback_file: Path) -> None:
    """Save each rating of an answer in the chat to ``feedback_file``."""

    def rate(history: list[dict], answers: dict[int, Answer], event: gr.LikeData) -> None:
        index = message_index(event)
        answer = answers.get(index)
        if answer is None or not isinstance(event.liked, bool):
            return
        earlier = page_questions(history[:index])[:-1]  # the rated question is last
        save_feedback(feedback_file, feedback_record(answer, event.liked, earlier))
        gr.Info(
            "Thanks: your rating was saved." if event.liked else "Thanks: saved, to be looked into."
        )

    column.chatbot.like(rate, [column.chatbot, column.answers], None, **PRIVATE)
