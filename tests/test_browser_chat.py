"""The web chat in a real browser: answers with sources in context, the whole document
with the quote highlighted, follow-ups, feedback, copy, upload, and a phone-width screen.

Each test saves a screenshot of the state it checks in tests/screenshots/.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from rag import RAG, Answer, Citation, Passage
from tests.conftest import (
    ARTICLE,
    CORPUS,
    LLM_ALIAS,
    SCREENSHOTS,
    open_block,
    served,
    source_text,
)

pytestmark = pytest.mark.slow

ANSWER_TIMEOUT_MS = 90_000  # the first answer loads the question encoder on a busy machine
IN_RETURN = "What would Ukraine receive in exchange for ceding territory?"
GUARANTEES = "in return for international security guarantees"
FIRST = "What does the US-drafted framework ask of Ukraine?"
RUSSIA = "And what did Russia say about it?"
HERONS = "Herons of the Quillmouth estuary nest in colonies on the salt marsh every spring."


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    """The real chat over a private copy of the default corpus (the upload test adds to
    it), with its own feedback file."""
    docs = tmp_path_factory.mktemp("browser-corpus")
    shutil.copytree(CORPUS, docs, dirs_exist_ok=True)
    rag = RAG(
        corpus_dir=docs,
        index_dir=tmp_path_factory.mktemp("browser-index"),
        feedback_file=tmp_path_factory.mktemp("feedback") / "feedback.jsonl",
    )
    rag.ingest(progress=False)
    with served(rag) as url:
        yield url, rag


@pytest.fixture
def page(app: tuple[str, RAG], browser: Browser) -> Iterator[Page]:
    """A fresh page of the chat (its own session), 1280 px wide, clipboard allowed."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.goto(app[0])
    expect(box(page)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    yield page
    context.close()


def box(page: Page) -> Locator:
    return page.get_by_placeholder("Ask a question about the documents")


def ask(page: Page, question: str) -> Locator:
    """Ask through the chat box as a person does: once the box is ready for a question
    (enabled and empty: the previous answer is complete), type and press Enter; the
    answer, once it is complete (the box enabled again)."""
    ready(page)
    before = bot_messages(page).count()
    box(page).fill(question)
    box(page).press("Enter")
    answer = bot_messages(page).nth(before)
    expect(answer).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    ready(page)
    return answer


def ready(page: Page) -> None:
    """Wait for the state a person waits for before typing: the box enabled and empty."""
    expect(box(page)).to_be_enabled(timeout=ANSWER_TIMEOUT_MS)
    expect(box(page)).to_have_value("")


def bot_messages(page: Page) -> Locator:
    return page.get_by_role("log", name="chatbot conversation").get_by_test_id("bot")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_an_answer_cites_and_shows_each_source_in_context(page: Page) -> None:
    answer = ask(page, IN_RETURN)
    expect(answer).to_contain_text("[1]")
    sources = bot_messages(page).filter(has=page.locator(".rag-source"))
    expect(sources).to_have_count(1)
    quote = sources.locator("mark").filter(has_text=GUARANTEES)
    title = sources.get_by_role("button", name="Sources", exact=True)
    open_block(title, quote)  # in view: not inside a collapsed block
    expect(sources.locator(".rag-source-name").first).to_contain_text(ARTICLE)
    shot(page, "chat")


def test_the_cited_document_opens_whole_with_the_quote_highlighted(page: Page) -> None:
    ask(page, IN_RETURN)
    document = page.locator(".rag-document")
    expect(document).to_contain_text("US Drafted Peace Framework Would Ask Ukraine")  # its start
    expect(document).to_contain_text("since the end of the Second World War.")  # its end
    expect(document.locator("mark.rag-focus")).to_be_visible()
    expect(document.locator("mark").filter(has_text=GUARANTEES)).to_have_count(1)


def test_picking_another_source_moves_the_highlight_to_its_quote(page: Page) -> None:
    ask(page, IN_RETURN)
    focus = page.locator(".rag-document mark.rag-focus")
    first_quote = focus.inner_text()
    page.get_by_label("Sources of the answer").click()
    page.get_by_role("option", name="[2]", exact=False).click()
    expect(focus).not_to_have_text(first_quote)
    expect(focus).to_be_in_viewport()


def test_a_follow_up_is_answered_with_the_conversation(page: Page) -> None:
    ask(page, FIRST)
    ask(page, RUSSIA)
    log = page.get_by_role("log", name="chatbot conversation")
    searched = f"searched for: what did Russia say about it? (following: {FIRST})"
    expect(log.get_by_text(searched)).to_be_visible()
    expect(bot_messages(page).last).to_contain_text("The Russian response to the disclosures")
    shot(page, "follow-up")


def test_an_abstention_explains_itself_and_cites_nothing(page: Page) -> None:
    answer = ask(page, "What is the boiling point of nitrogen?")
    expect(answer).to_contain_text("The sources don't say")
    expect(page.locator(".rag-source")).to_have_count(0)


def test_a_thumbs_down_is_saved_with_the_answer(page: Page, app: tuple[str, RAG]) -> None:
    feedback = app[1].settings.feedback_file
    ask(page, IN_RETURN)
    page.get_by_role("button", name="Dislike").last.click()
    expect(page.get_by_text("saved, to be looked into")).to_be_visible()
    records = [json.loads(line) for line in feedback.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["rating"] == "down"
    assert records[-1]["question"] == IN_RETURN
    assert any(GUARANTEES in c["quote"] for c in records[-1]["citations"])


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(page: Page) -> None:
    answer = ask(page, IN_RETURN)
    expect(page.locator(".rag-document")).to_be_visible()  # the panel has this answer
    page.get_by_role("button", name="Copy answer with sources").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert answer.inner_text().split("[1]")[0].strip() in copied
    assert f'[1] {ARTICLE}: "' in copied


def test_an_example_question_is_answered_when_clicked(page: Page) -> None:
    page.get_by_role("button", name=IN_RETURN, exact=False).click()
    expect(bot_messages(page).first).to_contain_text("[1]", timeout=ANSWER_TIMEOUT_MS)


def test_an_uploaded_document_is_listed_and_answers_questions(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "herons.md"
    upload.write_text(HERONS, encoding="utf-8")
    page.get_by_role("tab", name="Documents").click()
    page.locator("input[type=file][multiple]").set_input_files(upload)
    expect(page.get_by_text("1 added")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.get_by_role("tabpanel")).to_contain_text("herons.md")
    shot(page, "documents")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Where do herons of the Quillmouth estuary nest?")
    expect(page.locator(".rag-source-name").first).to_contain_text("herons.md")


def test_an_upload_of_an_unsupported_file_says_why(page: Page, tmp_path: Path) -> None:
    upload = tmp_path / "table.ods"
    upload.write_bytes(b"PK\x03\x04")
    page.get_by_role("tab", name="Documents").click()
    page.locator("input[type=file][multiple]").set_input_files(upload)
    expect(page.get_by_text("unsupported format '.ods'")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def test_the_chat_fits_a_phone_screen(browser: Browser, app: tuple[str, RAG]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(app[0])
        ask(page, IN_RETURN)
        expect(page.locator(".rag-document")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "phone")
    finally:
        context.close()


class SlowStreamingAnswerer:
    """Plumbing only (the real answerer is tested above): an answer in three parts,
    a second apart, the way a generative answerer streams."""

    PARTS = ("First part.", "Second part.", "Third part [1].")

    def __call__(self, question: str, passages: list[Passage], context: str = "") -> Answer:
        *_, last = self.stream(question, passages, context)
        return last

    def stream(self, question: str, passages: list[Passage], context: str = "") -> Iterator[Answer]:
        p = passages[0]
        cite = [Citation(1, p.source, p.text, p.start, p.end, p.id)]
        for n in range(1, len(self.PARTS) + 1):
            time.sleep(1.0)
            done = n == len(self.PARTS)
            yield Answer(question, " ".join(self.PARTS[:n]), cite if done else [])


@contextmanager
def chat_page(browser: Browser, rag: RAG) -> Iterator[Page]:
    """A page of the real chat served for ``rag`` (a variant of the module's app)."""
    with served(rag) as url:
        page = browser.new_page()
        try:
            page.goto(url)
            yield page
        finally:
            page.close()


def test_a_streaming_answerer_shows_its_answer_as_it_grows(
    browser: Browser, app: tuple[str, RAG]
) -> None:
    with chat_page(browser, RAG(app[1].settings, answerer=SlowStreamingAnswerer())) as page:
        box(page).fill(IN_RETURN)
        box(page).press("Enter")
        answer = bot_messages(page).first
        expect(answer).to_have_text("First part.", timeout=ANSWER_TIMEOUT_MS)
        expect(answer).to_have_text("First part. Second part.")
        expect(answer).to_contain_text("Third part [1].")
        expect(page.locator(".rag-source")).to_have_count(1)


def test_the_box_waits_disabled_while_an_answer_is_written_then_keeps_what_is_typed(
    browser: Browser, app: tuple[str, RAG]
) -> None:
    """The question box empties on submit and is disabled until the answer is complete,
    so nothing typed meanwhile is lost (the answer used to overwrite the box as it
    arrived); then it takes the next question and keeps it."""
    with chat_page(browser, RAG(app[1].settings, answerer=SlowStreamingAnswerer())) as page:
        box(page).fill(IN_RETURN)
        box(page).press("Enter")
        expect(box(page)).to_be_disabled()
        expect(box(page)).to_have_value("")
        answer = bot_messages(page).first
        expect(answer).to_contain_text("Third part [1].", timeout=ANSWER_TIMEOUT_MS)
        ready(page)
        box(page).fill(RUSSIA)
        page.wait_for_timeout(1500)  # long enough for any late update to land
        expect(box(page)).to_have_value(RUSSIA)
        box(page).press("Enter")
        expect(page.get_by_text(RUSSIA)).to_be_visible()
        # the first answer and its sources, then the second answer
        expect(bot_messages(page).nth(2)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def test_a_blank_question_is_refused_in_the_page_without_a_request(page: Page) -> None:
    # the page's own load event (the heading) has been sent and answered before listening
    expect(page.get_by_role("heading", name="Ask the documents")).to_be_visible()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    box(page).fill("   ")
    box(page).press("Enter")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_timeout(1000)
    assert sent == []
    expect(bot_messages(page)).to_have_count(0)
    expect(box(page)).to_be_enabled()


def test_a_pasted_text_is_checked_sentence_by_sentence(page: Page) -> None:
    page.get_by_role("tab", name="Check a text").click()
    page.get_by_label("Text to check against the documents").fill(
        "Diplomats were meeting in Paris and Berlin. The report came out in November 2025."
    )
    page.get_by_role("button", name="Check", exact=True).click()
    contradicted = page.locator(".rag-check.rag-contradicted")
    expect(contradicted).to_contain_text("Paris and Berlin", timeout=ANSWER_TIMEOUT_MS)
    expect(contradicted).to_contain_text("diplomats meet in Ankara and Kyiv")
    supported = page.locator(".rag-check.rag-supported")
    expect(supported).to_contain_text("November 19, 2025")
    expect(page.locator(".rag-check-summary")).to_contain_text("1 supported, 1 contradicted")
    shot(page, "check")


def test_a_local_llm_answers_in_the_chat_with_verified_citations(
    browser: Browser, app: tuple[str, RAG], llm_server: str
) -> None:
    """The real thing: llama.cpp's server with a GGUF model, streamed into the page; every
    quote shown under Sources is text of the article. (Three passages, as in
    tests/test_llm.py: five confuse the small model.)"""
    settings = app[1].settings.model_copy(
        update={"llm": f"openai:{LLM_ALIAS}", "llm_base_url": llm_server, "k": 3}
    )
    with chat_page(browser, RAG(settings)) as page:
        box(page).fill(IN_RETURN)
        box(page).press("Enter")
        expect(bot_messages(page).first).to_contain_text("[1]", timeout=ANSWER_TIMEOUT_MS)
        sources = page.locator(".rag-source")
        expect(sources.first).to_be_attached()
        article = source_text(CORPUS, ARTICLE)
        quotes = sources.locator("mark").all_text_contents()
        assert quotes and all(quote in article for quote in quotes)
        expect(page.get_by_text("could not answer")).to_have_count(0)  # no fallback
        shot(page, "chat-llm")


def test_with_uploads_off_the_documents_tab_has_no_upload(
    browser: Browser, app: tuple[str, RAG]
) -> None:
    rag = RAG(app[1].settings.model_copy(update={"uploads": False}))
    with chat_page(browser, rag) as page:
        page.get_by_role("tab", name="Documents").click()
        expect(page.get_by_role("button", name="Re-index the collection's folders")).to_be_visible()
        expect(page.locator("input[type=file][multiple]")).to_have_count(0)


def test_a_failure_while_answering_is_explained_without_a_traceback(
    browser: Browser, app: tuple[str, RAG]
) -> None:
    def broken(question: str, passages: list[Passage], context: str = "") -> Answer:
        raise RuntimeError("secret internal detail")

    with chat_page(browser, RAG(app[1].settings, answerer=broken)) as page:
        answer = ask(page, IN_RETURN)
        expect(answer).to_contain_text("something went wrong while answering (RuntimeError)")
        expect(page.get_by_text("secret internal detail")).to_have_count(0)


def test_an_empty_index_says_how_to_add_documents(browser: Browser, tmp_path: Path) -> None:
    empty = RAG(corpus_dir=tmp_path / "docs", index_dir=tmp_path / "index")
    with chat_page(browser, empty) as page:
        expect(page.get_by_text("No documents are indexed yet")).to_be_visible()
        shot(page, "empty")
