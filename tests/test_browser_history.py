"""Saved conversations and collections in a real browser: an answer saved as it is
given, the page reloaded and the conversation reopened with its sources; a document
edited after it was quoted; two logins that never see each other's conversations; the
collection picker.

Each test saves a screenshot of the state it checks in tests/screenshots/.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rag import RAG
from rag.history import ANONYMOUS
from rag.serve.ui.conversations import SAVED_ID
from tests.conftest import ARTICLE, CORPUS, served
from tests.test_browser_chat import ANSWER_TIMEOUT_MS, GUARANTEES, IN_RETURN, ask, box, shot

pytestmark = pytest.mark.slow

HARBOUR = "The harbour festival opens on the first of May."
FESTIVAL = "When does the harbour festival open?"
CONTRACT = "The supply contract was signed by Acme Ltd on 3 June 2024."


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, RAG]]:
    """The real chat over a copy of the default corpus and a festival note, with a
    second collection, "contracts", whose file has the same name as the article."""
    docs = tmp_path_factory.mktemp("history-corpus")
    shutil.copytree(CORPUS, docs, dirs_exist_ok=True)
    (docs / "festival.txt").write_text(HARBOUR + " It lasts a week.")
    rag = RAG(
        corpus_dir=docs,
        index_dir=tmp_path_factory.mktemp("history-index"),
        feedback_file=tmp_path_factory.mktemp("history-feedback") / "feedback.jsonl",
    )
    rag.ingest(progress=False)
    contracts = rag.create_collection("contracts")
    (contracts.corpus_dir / ARTICLE).write_text(CONTRACT)
    contracts.ingest(progress=False)
    with served(rag) as url:
        yield url, rag


def open_page(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    expect(box(page)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return page


def reload(page: Page) -> None:
    """Reload the page, as a person coming back later does, and wait for the chat."""
    page.reload()
    expect(box(page)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def saved(page: Page):
    return page.locator(f"#{SAVED_ID}")


def reopen(page: Page, title: str) -> None:
    saved(page).get_by_text(title).first.click()


def test_an_answer_is_saved_and_reopens_with_its_sources_after_a_reload(
    app: tuple[str, RAG], browser: Browser
) -> None:
    page = open_page(browser, app[0])
    ask(page, IN_RETURN)
    expect(saved(page).get_by_text(IN_RETURN)).to_be_visible()
    reload(page)
    chat = page.get_by_role("log", name="chatbot conversation")
    expect(chat.get_by_test_id("user")).to_have_count(0)  # a reload starts a new chat
    reopen(page, IN_RETURN)
    expect(chat.get_by_test_id("user")).to_have_text([IN_RETURN])
    expect(chat.locator(".rag-source mark").filter(has_text=GUARANTEES).first).to_be_attached()
    expect(page.locator(".rag-document mark").first).to_be_visible()  # the panel shows it
    shot(page, "history-reopened")
    page.context.close()


def test_a_reopened_answer_says_its_document_changed_and_shows_the_version_quoted(
    app: tuple[str, RAG], browser: Browser
) -> None:
    url, rag = app
    page = open_page(browser, url)
    ask(page, FESTIVAL)
    note = rag.corpus_dir / "festival.txt"
    note.write_text("The harbour festival opens in June. It lasts a week.")
    rag.ingest(progress=False)
    reload(page)
    reopen(page, FESTIVAL)
    chat = page.get_by_role("log", name="chatbot conversation")
    pin = chat.locator(".rag-pin").first
    expect(pin).to_contain_text("This document changed on")
    expect(pin).to_contain_text("the quote is no longer in the current version")
    viewer = page.locator(".rag-document")
    expect(viewer).to_contain_text(HARBOUR)  # the version quoted, not today's
    expect(page.get_by_text("Shown here: the version quoted", exact=False).first).to_be_visible()
    shot(page, "history-changed-document")
    page.context.close()


def test_a_rating_is_kept_on_the_saved_answer_and_names_it_in_the_feedback_file(
    app: tuple[str, RAG], browser: Browser
) -> None:
    url, rag = app
    page = open_page(browser, url)
    question = "Was Ukraine involved in preparing the framework?"
    ask(page, question)
    page.get_by_role("button", name="Dislike").last.click()
    expect(page.get_by_text("saved, to be looked into")).to_be_visible()
    (talk,) = [c for c in rag.history.conversations(ANONYMOUS) if c.title == question]
    (turn,) = rag.history.turns(talk.id, ANONYMOUS)
    assert turn.rating == "down"
    lines = rag.settings.feedback_file.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert (record["turn"], record["user"], record["question"]) == (turn.id, ANONYMOUS, question)
    page.context.close()


def test_renaming_and_deleting_a_conversation(app: tuple[str, RAG], browser: Browser) -> None:
    page = open_page(browser, app[0])
    ask(page, "How did European diplomats describe the proposal?")
    page.get_by_placeholder("A new title").fill("Europe's view")
    page.get_by_role("button", name="Rename").click()
    expect(saved(page).get_by_text("Europe's view")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(saved(page).get_by_text("Europe's view")).to_have_count(0)
    page.context.close()


def test_the_collection_picked_is_the_one_answered_from(
    app: tuple[str, RAG], browser: Browser
) -> None:
    page = open_page(browser, app[0])
    page.get_by_label("Collection").click()
    page.get_by_role("option", name="contracts").click()
    expect(page.get_by_text("(collection contracts)")).to_be_visible()
    answer = ask(page, "Who signed the supply contract?")
    expect(answer).to_contain_text("Acme Ltd")
    shot(page, "history-collection-picked")
    page.context.close()


@pytest.fixture(scope="module")
def two_logins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    docs = tmp_path_factory.mktemp("logins-corpus")
    shutil.copytree(CORPUS, docs, dirs_exist_ok=True)
    rag = RAG(corpus_dir=docs, index_dir=tmp_path_factory.mktemp("logins-index"))
    rag.ingest(progress=False)
    with served(rag, auth=[("ann", "ann-secret"), ("bob", "bob-secret")]) as url:
        yield url


def logged_in(browser: Browser, url: str, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(f"{user}-secret")
    page.get_by_role("button", name="Login").click()
    expect(box(page)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return page


def test_one_login_never_sees_anothers_conversations(two_logins: str, browser: Browser) -> None:
    ann = logged_in(browser, two_logins, "ann")
    ask(ann, IN_RETURN)
    expect(saved(ann).get_by_text(IN_RETURN)).to_be_visible()
    bob = logged_in(browser, two_logins, "bob")
    ask(bob, FESTIVAL)
    expect(saved(bob).get_by_text(FESTIVAL)).to_be_visible()
    expect(saved(bob).get_by_text(IN_RETURN)).to_have_count(0)
    ann.reload()
    expect(saved(ann).get_by_text(IN_RETURN)).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(saved(ann).get_by_text(FESTIVAL)).to_have_count(0)
    shot(bob, "history-other-login")
    ann.context.close()
    bob.context.close()
