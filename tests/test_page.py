"""What the chat page holds: escaped text for display, the questions as asked for follow-ups."""

from rag.ui import page_questions

QUESTION = "Does the plan mention A & B <or> C?"


def test_the_page_shows_a_question_escaped_and_follow_ups_get_it_as_asked() -> None:
    history = [
        {"role": "user", "content": "Does the plan mention A &amp; B &lt;or&gt; C?"},
        {"role": "assistant", "content": "It does [1]."},
    ]
    assert page_questions(history) == [QUESTION]
