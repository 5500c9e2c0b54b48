"""The web chat in a real browser: document text holding HTML or Markdown must reach the
reader as text, never as markup or script (a hostile document must not act on the page).

Chromium is Debian's, driven by Playwright (the ``browser`` fixture in conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from rag import RAG
from tests.conftest import open_block, served

pytestmark = pytest.mark.slow

ANSWER_TIMEOUT_MS = 90_000  # the first answer embeds the question on a busy 2-core machine
QUESTION = "What happens at the Quillmouth harbour festival?"

HOSTILE = """\
The Quillmouth harbour festival opens with a lantern parade <script>window.__xss = 1</script> along the old quay.
Lantern boats at the Quillmouth harbour festival are judged <img src=x onerror="window.__xss = 2"> by the fishermen's guild.
The Quillmouth harbour festival ends with <b>bold</b> fireworks, see [the programme](javascript:window.__xss=3) and ![the harbour map](harbour-map.png) for times.
"""  # noqa: E501 (one sentence a line, so each lands in the answer whole)
NORMAL = "The Quillmouth library opens on weekdays. It also lends bicycles to visitors.\n"


@dataclass
class Chat:
    """A page on which QUESTION has been answered, and the dialogs it raised."""

    page: Page
    dialogs: list[str] = field(default_factory=list)

    @property
    def chatbot(self) -> Locator:
        """The conversation area: every message, and nothing else of the page."""
        return self.page.get_by_role("log", name="chatbot conversation")

    @property
    def answer(self) -> Locator:
        """The bot's answer (the first bot message; the second one is the Sources block)."""
        return self.chatbot.get_by_test_id("bot").first

    @property
    def sources(self) -> Locator:
        """The bot message titled "Sources" (a collapsible block)."""
        return self.chatbot.get_by_test_id("bot").filter(has=self.sources_title)

    @property
    def sources_title(self) -> Locator:
        return self.page.get_by_role("button", name="Sources", exact=True)


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real chat, served over a corpus with one hostile and one ordinary document."""
    docs = tmp_path_factory.mktemp("hostile-docs")
    (docs / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    (docs / "library.txt").write_text(NORMAL, encoding="utf-8")
    rag = RAG(corpus_dir=docs, index_dir=tmp_path_factory.mktemp("hostile-index"))
    rag.ingest(progress=False)
    with served(rag) as url:
        yield url


@pytest.fixture(scope="module")
def chat(chat_url: str, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Chat:
    """QUESTION asked once through the chat box, answered, Sources expanded, screenshotted.

    The tests only read this page, so one answer serves them all.
    """
    page = browser.new_page()
    chat = Chat(page)

    def record(dialog: Dialog) -> None:
        chat.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(chat_url)
    box = page.locator("textarea").first
    box.fill(QUESTION)
    box.press("Enter")
    expect(chat.answer).to_contain_text("[1]", timeout=ANSWER_TIMEOUT_MS)
    expect(chat.sources).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    quote = chat.sources.get_by_text("hostile.md (characters", exact=False).first
    open_block(chat.sources_title, quote)
    page.screenshot(path=tmp_path_factory.mktemp("browser") / "answer.png", full_page=True)
    return chat


def test_the_answer_quotes_the_hostile_document(chat: Chat) -> None:
    """Guards the other tests: they mean something only if the hostile sentences are shown."""
    expect(chat.answer).to_contain_text("lantern parade")
    expect(chat.answer).to_contain_text("fishermen's guild")
    expect(chat.answer).to_contain_text("fireworks")
    expect(chat.sources).to_contain_text("hostile.md (characters 0-")


def test_document_script_does_not_run(chat: Chat) -> None:
    assert chat.page.evaluate("typeof window.__xss") == "undefined"
    assert chat.dialogs == []


def test_document_script_tag_is_no_script_element(chat: Chat) -> None:
    assert chat.chatbot.locator("script").count() == 0


def test_document_img_tag_is_no_image(chat: Chat) -> None:
    assert chat.chatbot.locator('img[src="x"]').count() == 0


def test_document_b_tag_is_no_bold_element(chat: Chat) -> None:
    assert chat.chatbot.locator("b").count() == 0


def test_document_markdown_link_and_image_are_not_rendered(chat: Chat) -> None:
    assert chat.chatbot.locator('a[href^="javascript:"]').count() == 0
    assert chat.chatbot.locator('img[src="harbour-map.png"]').count() == 0
    expect(chat.sources).to_contain_text("[the programme](javascript:window.__xss=3)")


def test_document_markup_is_visible_as_literal_text(chat: Chat) -> None:
    for message in (chat.answer, chat.sources):
        text = message.inner_text()
        assert "<script>window.__xss = 1</script>" in text
        assert 'onerror="window.__xss = 2"' in text
        assert "<b>bold</b>" in text


def test_the_document_viewer_shows_markup_as_literal_text(chat: Chat) -> None:
    viewer = chat.page.locator(".rag-document")
    expect(viewer).to_contain_text("<script>window.__xss = 1</script>")
    assert viewer.locator("script, img, b, a").count() == 0
