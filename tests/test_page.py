"""What the chat page holds: escaped text for display, the questions as asked for follow-ups."""

from rag.reading.answer import Answer
from rag.serve.ui.render import page_messages, page_questions, reply_messages

QUESTION = "Does the plan mention A & B <or> C?"


def test_the_page_shows_a_question_escaped_and_follow_ups_get_it_as_asked() -> None:
    history = [
        {"role": "user", "content": "Does the plan mention A &amp; B &lt;or&gt; C?"},
        {"role": "assistant", "content": "It does [1]."},
    ]
    assert page_questions(history) == [QUESTION]


def test_a_note_on_the_answer_is_shown_before_it() -> None:
    answer = Answer("q", "It rained [1].", note="The language model could not answer.")
    for messages in (reply_messages(answer), page_messages(answer)):
        note, text = messages[0], messages[1]
        assert "The language model could not answer." in note["metadata"]["title"] + note["content"]
        assert text["content"] == "It rained [1]."
