"""The cited place in a real browser: a PDF citation opens its page as a picture with the
quote's boxes drawn on it; the original file downloads; other formats open as text at
the quote under where it is. Screenshots go to tests/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rag import RAG
from tests.conftest import served
from tests.documents import mixed_corpus
from tests.test_browser_chat import ANSWER_TIMEOUT_MS, ask, box, shot

pytestmark = pytest.mark.slow

DREDGING = "How much did dredging the northern channel cost?"


@pytest.fixture(scope="module")
def places_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    folder = tmp_path_factory.mktemp("places")
    mixed_corpus(folder, tmp_path_factory.mktemp("scans"))
    rag = RAG(corpus_dir=folder, index_dir=tmp_path_factory.mktemp("places-index"))
    rag.ingest(progress=False)
    with served(rag) as url:
        yield url, rag


@pytest.fixture
def page(places_app: tuple[str, RAG], browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(places_app[0])
    expect(box(page)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    yield page
    context.close()


def open_source(page: Page, name: str) -> None:
    """Pick the answer's source whose label starts with ``name`` in the source panel."""
    page.get_by_label("Sources of the answer").click()
    page.get_by_role("option").filter(has_text=name).first.click()


def test_a_pdf_citation_opens_its_page_with_the_quote_boxed(page: Page) -> None:
    ask(page, DREDGING)
    open_source(page, "annual.pdf, p. 3")
    shown = page.locator(".rag-page")
    expect(shown.locator("img")).to_be_visible()
    assert shown.locator("img").evaluate("img => img.naturalWidth") > 500  # a real picture
    expect(page.get_by_text("annual.pdf, p. 3, §2.1 Costs").last).to_be_visible()
    boxed = shown.locator(".rag-box")
    expect(boxed.first).to_be_visible()
    picture, first = shown.locator("img").bounding_box(), boxed.first.bounding_box()
    assert picture and first
    assert picture["x"] < first["x"] and first["y"] < picture["y"] + picture["height"] / 2
    shot(page, "pdf-page")


def test_the_original_file_downloads(page: Page, places_app: tuple[str, RAG]) -> None:
    ask(page, DREDGING)
    open_source(page, "annual.pdf")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the original").click()
    saved = download.value.path()
    assert saved.read_bytes() == (places_app[1].settings.corpus_dir / "annual.pdf").read_bytes()


def test_a_word_citation_opens_as_text_at_the_quote_under_its_section(page: Page) -> None:
    ask(page, "What was the budget of the breakwater project?")
    open_source(page, "harbour-report.docx")
    expect(page.get_by_text("harbour-report.docx, §2.1 Costs").last).to_be_visible()
    focus = page.locator(".rag-document mark.rag-focus")
    expect(focus).to_be_in_viewport()
    expect(page.locator(".rag-document")).to_contain_text("2.1 Costs")
