"""Generated answers from a real local language model: llama.cpp's OpenAI-compatible
server on loopback (``RAG_LLM=openai:...``), and the same GGUF model in this process
(``RAG_LLM=llamacpp:...``).

The model is a small base model that often cites the wrong passage or invents facts.
Whatever it writes, what reaches the user must be verified: these tests check that, and
the plumbing (streaming, falling back when the server is down).
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from rag import RAG, Answer
from rag.evaluation.metrics import citation_support
from rag.reading.generate import FALLBACK_NOTE, chat_model, claims, prompt
from rag.serve.ui.chat import EXAMPLES
from tests.conftest import LLM_ALIAS, free_port, source_text

pytestmark = pytest.mark.slow

QUESTIONS = [*EXAMPLES, "What is the capital of Australia?"]  # the last: not in the sources


@pytest.fixture(scope="module")
def llm_rag(default_rag: RAG, llm_server: str) -> RAG:
    """The default corpus, answered by the session's local LLM server from the top three
    passages (five confuse the small model into writing nothing usable)."""
    return RAG(
        default_rag.settings.model_copy(
            update={"llm": f"openai:{LLM_ALIAS}", "llm_base_url": llm_server, "k": 3}
        )
    )


@pytest.fixture(scope="module")
def llm_answers(llm_rag: RAG) -> list[Answer]:
    return [llm_rag.answer(q) for q in QUESTIONS]


def assert_verified(answer: Answer, corpus_dir) -> None:
    """Every sentence shown cites, every citation is an exact quote of its source at its
    offsets, and what it cites supports the sentence; or an abstention that cites nothing."""
    assert answer.note is None  # the model answered: no fallback
    if answer.abstained:
        assert not answer.citations
        return
    for c in answer.citations:
        assert source_text(corpus_dir, c.source)[c.start : c.end] == c.quote
    statements, supported, _, _ = citation_support(answer)
    assert supported == statements


def test_every_answer_of_the_local_model_is_verified(llm_answers: list[Answer], corpus_dir) -> None:
    for answer in llm_answers:
        assert_verified(answer, corpus_dir)


def test_the_local_model_answers_some_questions_with_citations(llm_answers: list[Answer]) -> None:
    assert any(a.citations for a in llm_answers)


def test_what_the_verifier_rejects_of_the_model_text_never_reaches_the_user(
    llm_rag: RAG, llm_answers: list[Answer]
) -> None:
    """Asked directly with the same prompt, the model writes sentences the verifier must
    drop (uncited, citing passages that do not exist, or unsupported): none of them is in
    the answer the user gets."""
    model = chat_model(llm_rag.settings.generation)
    rejected = []
    for question, answer in zip(QUESTIONS, llm_answers, strict=True):
        passages = llm_rag.retrieve(question)
        raw = model.invoke(prompt(question, passages, max_sentences=3)).text
        checked = claims(raw, passages, llm_rag.answerer.verify)
        supported = {c.text for c in checked if c.supported}  # it may repeat one elsewhere
        for claim in checked:
            if not claim.supported and claim.text not in supported:
                rejected.append(claim)
                assert claim.text not in answer.text
    assert rejected, "the model wrote nothing the verifier had to reject: a weak test"


def test_the_local_server_streams_the_answer_token_by_token(llm_rag: RAG) -> None:
    passages = llm_rag.retrieve(EXAMPLES[0])
    chunks = list(chat_model(llm_rag.settings.generation).stream(prompt(EXAMPLES[0], passages)))
    assert len(chunks) > 1


def test_each_streamed_answer_is_verified_and_grows_from_the_last(llm_rag: RAG, corpus_dir) -> None:
    seen = list(llm_rag.stream(EXAMPLES[0]))
    for answer in seen:
        assert_verified(answer, corpus_dir)
    for earlier, later in pairwise(seen):
        assert later.text.startswith(earlier.text)


def test_a_server_that_is_down_gives_the_extractive_answer_and_says_so(
    default_rag: RAG,
) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    rag = RAG(
        default_rag.settings.model_copy(
            update={"llm": "openai:gemma", "llm_base_url": down, "llm_retries": 0}
        )
    )
    answer = rag.answer(EXAMPLES[0])
    assert answer.citations
    # langchain-openai's name for a refused connection
    assert answer.note == FALLBACK_NOTE.format(error="OpenAIConnectionError")


def test_the_model_runs_in_this_process_with_verified_citations(
    default_rag: RAG, gguf_model: str, corpus_dir
) -> None:
    rag = RAG(default_rag.settings.model_copy(update={"llm": f"llamacpp:{gguf_model}", "k": 3}))
    answers = [rag.answer(q) for q in QUESTIONS]
    for answer in answers:
        assert_verified(answer, corpus_dir)
    assert any(a.citations for a in answers)
