"""Follow-up questions: which ones lean on the conversation, and how they are rewritten."""

import pytest

from rag import Answer
from rag.reading.conversation import earlier_questions, focus, follows, is_follow_up, standalone

FIRST = "What does the US-drafted framework ask of Ukraine?"


@pytest.mark.parametrize(
    "question",
    [
        "and what did Europe think of it?",
        "But who wrote the plan?",
        "What about the army?",
        "Why did they refuse?",
        "Who supports this?",
        "why?",
        "And Europe?",
    ],
)
def test_questions_that_lean_on_the_conversation_are_follow_ups(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        FIRST,
        "Where are diplomats meeting this week?",  # "this" refers back only on its own
        "Was Ukraine involved in preparing the framework?",
    ],
)
def test_questions_that_stand_alone_are_not_follow_ups(question: str) -> None:
    assert not is_follow_up(question)


def rewrite(question: str, earlier: list[str]) -> str:
    return standalone(question, follows(question, earlier))


def test_a_follow_up_carries_the_previous_question() -> None:
    assert rewrite("and what did Europe think of it?", [FIRST]) == (
        f"what did Europe think of it? (following: {FIRST})"
    )


def test_a_question_that_stands_alone_is_not_rewritten() -> None:
    question = "Where are diplomats meeting?"
    assert rewrite(question, [FIRST]) == question


def test_a_first_question_is_not_rewritten_even_if_it_reads_as_a_follow_up() -> None:
    assert rewrite("and why?", []) == "and why?"


def test_a_chain_of_follow_ups_keeps_its_thread() -> None:
    earlier = [FIRST, "and what did Europe think of it?"]
    assert follows("why?", earlier) == ["and what did Europe think of it?", FIRST]
    assert rewrite("why?", earlier) == (
        f"why? (following: and what did Europe think of it?; {FIRST})"
    )


def test_the_thread_stops_at_the_last_question_that_stands_alone() -> None:
    earlier = ["Who is meeting in Ankara?", FIRST, "and what did Europe think of it?"]
    assert follows("why?", earlier) == ["and what did Europe think of it?", FIRST]


def test_focus_drops_the_opening_connective_only() -> None:
    assert focus("And, what did Europe think of it?") == "what did Europe think of it?"
    assert focus("Andorra's capital?") == "Andorra's capital?"


@pytest.mark.parametrize(
    "turn",
    [
        FIRST,
        Answer(FIRST, "It asks Ukraine to cede territory [1]."),
        {"role": "user", "content": FIRST},
        {"role": "user", "content": [{"type": "text", "text": FIRST}]},  # Gradio 6 blocks
    ],
    ids=["str", "Answer", "message", "gradio-blocks"],
)
def test_history_entries_of_every_shape_give_the_question(turn) -> None:
    assert earlier_questions([turn]) == [FIRST]


def test_history_skips_the_assistant_side_and_empty_questions() -> None:
    history = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": "It asks Ukraine to cede territory [1]."},
        {"role": "user", "content": "  "},
    ]
    assert earlier_questions(history) == [FIRST]


def test_a_history_entry_of_another_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="history entries"):
        earlier_questions([42])
