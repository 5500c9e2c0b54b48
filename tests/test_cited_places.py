"""Every format is indexed, answered from and cited at its place: the page (slide, sheet)
and the section of each quote, the quote exact in the text rag extracted, and the
viewer showing a PDF or picture page with the quote's boxes on it."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from rag import RAG, Citation
from rag.documents.formats import ocr
from rag.documents.pages import page_view
from rag.serve.ui.render import reply_messages
from rag.serve.ui.sources import _download_copy
from tests.documents import mixed_corpus, pdf_document, pptx_document


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> RAG:
    """A RAG over one document of every format, ingested."""
    folder = tmp_path_factory.mktemp("mixed")
    mixed_corpus(folder, tmp_path_factory.mktemp("scans"))
    rag = RAG(corpus_dir=folder, index_dir=tmp_path_factory.mktemp("mixed-index"))
    report = rag.ingest(progress=False)
    assert not report.skipped, report.skipped
    return rag


def cite(rag: RAG, question: str, words: str) -> Citation:
    """The answer's citation that quotes ``words``; every citation is checked to be
    exact in the extracted text."""
    answer = rag.answer(question)
    for c in answer.citations:
        assert rag.document_text(c.source)[c.start : c.end] == c.quote
    found = [c for c in answer.citations if words in c.quote]
    assert found, f"{words!r} is not quoted in the answer to {question!r}: {answer.text}"
    return found[0]


@pytest.mark.parametrize(
    ("question", "source", "page", "section", "words"),
    [
        ("When does the harbour festival open?", "annual.pdf", 1, "1. Introduction", "Friday"),
        ("When was the lighthouse repainted?", "annual.pdf", 2, "1. Introduction", "1998"),
        (
            "How much did dredging the northern channel cost?",
            "annual.pdf",
            3,
            "2. Findings > 2.1 Costs",
            "4.1 million",
        ),
        (
            "What was the budget of the breakwater project?",
            "harbour-report.docx",
            None,
            "Harbour Report > 2. Findings > 2.1 Costs",
            "Budget: 3.4 million euros",
        ),
        ("When were the new harbour pilots hired?", "review.pptx", 2, "Staffing", "March"),
        ("Where did the pilots finish their training?", "review.pptx", 2, "Staffing", "night"),
        (
            "What was the 2024 budget for the ferry terminal?",
            "budget.xlsx",
            1,
            "Budget",
            "Year: 2024; Budget (EUR): 8500000",
        ),
        ("When did Jon Ekberg start as a pilot?", "budget.xlsx", 2, "Staff", "Started: 2023"),
        ("When was the sea wall finished?", "book.epub", None, "Chapter 2: The Rebuilding", "1961"),
        ("When does the island ferry leave the pier?", "notice.png", 1, None, "noon"),
        ("What is the population of Bergen?", "cities.csv", None, None, "291940"),
        (
            "When does the maritime museum open on weekdays?",
            "guide.md",
            None,
            "Visitor guide > Opening hours",
            "ten",
        ),
    ],
)
def test_each_format_is_answered_and_cited_at_its_page_and_section(
    places: RAG, question: str, source: str, page: int | None, section: str | None, words: str
) -> None:
    found = cite(places, question, words)
    assert (found.source, found.page, found.section) == (source, page, section)


def test_a_table_row_is_quoted_whole_with_its_header(places: RAG) -> None:
    row = cite(places, "What was the 2024 budget for the ferry terminal?", "8500000")
    assert row.quote == "Project: Ferry terminal; Year: 2024; Budget (EUR): 8500000"


def test_the_place_is_named_where_the_answer_is_shown(places: RAG) -> None:
    answer = places.answer("How much did dredging the northern channel cost?")
    (dredging,) = [c for c in answer.citations if "northern channel" in c.quote]
    assert dredging.location == "annual.pdf, p. 3, §2.1 Costs"
    assert f"{dredging.marker} annual.pdf, p. 3, §2.1 Costs: " in str(answer)
    sources = reply_messages(answer)[-1]["content"]
    assert f"{dredging.marker} annual.pdf, p. 3, §2.1 Costs (characters " in sources
    slide = cite(places, "When were the new harbour pilots hired?", "March")
    assert slide.location == "review.pptx, slide 2, §Staffing"


def quote_picture(rag: RAG, citation: Citation) -> Image.Image:
    """The part of the rendered page the quote's first box covers."""
    path = rag.document_file(citation.source)
    assert path is not None
    start = rag.document_layout(citation.source).page_start(citation.page)
    view = page_view(path, citation.page, citation.start - start, citation.end - start)
    assert view.boxes, "the quote has no box on its page"
    picture = Image.open(io.BytesIO(view.png))
    left, top, right, bottom = view.boxes[0]
    w, h = picture.size
    return picture.crop(
        (int(left * w) - 4, int(top * h) - 4, int(right * w) + 4, int(bottom * h) + 4)
    )


@pytest.mark.parametrize(
    ("question", "seen"),
    [
        ("How much did dredging the northern channel cost?", "Dredging the northern channel"),
        ("When was the lighthouse repainted?", "lighthouse was repainted"),  # an OCR page
        ("When does the island ferry leave the pier?", "ferry leaves the pier"),  # a picture
    ],
)
def test_the_boxes_on_the_rendered_page_cover_the_quote(
    places: RAG, question: str, seen: str
) -> None:
    citation = cite(places, question, seen.split()[-1])
    crop = quote_picture(places, citation)
    scale = max(1, 1200 // crop.width)
    read = ocr.recognise(crop.resize((crop.width * scale, crop.height * scale))).text
    assert seen in " ".join(read.split())


def test_a_quote_over_two_lines_gets_a_box_per_line(tmp_path: Path) -> None:
    long = (
        "The harbour authority decided in the spring of 2023 that the northern channel would "
        "be dredged to a depth of twelve metres before the new container cranes arrived."
    )
    (tmp_path / "long.pdf").write_bytes(pdf_document([[("p", long)]]))
    view = page_view(tmp_path / "long.pdf", 1, 0, len(long))
    assert len(view.boxes) == 2
    first, second = view.boxes
    assert first[3] <= second[1] + 0.005  # one line below the other


def test_the_original_is_offered_for_download_only_from_the_corpus_folder(
    make_rag: Callable[..., RAG], tmp_path: Path
) -> None:
    rag = make_rag()
    inside = rag.settings.corpus_dir / "inside.md"
    inside.write_text("# Notes\n\nThe quay is closed for repairs.")
    outside = tmp_path / "outside.md"
    outside.write_text("The pier is open all year.")
    rag.ingest([inside, outside])
    path = rag.document_file("inside.md")
    assert path == inside.resolve()
    assert _download_copy(path).read_bytes() == inside.read_bytes()
    assert rag.document_file(outside.resolve().as_posix()) is None
    with pytest.raises(KeyError):
        rag.document_file("../outside.md")


def test_pages_and_sections_are_kept_by_either_kind_of_index(
    make_rag: Callable[..., RAG],
) -> None:
    rag = make_rag()
    (rag.settings.corpus_dir / "review.pptx").write_bytes(pptx_document())
    rag.ingest()
    slide = cite(rag, "When were the new harbour pilots hired?", "March")
    assert (slide.page, slide.section, slide.unit) == (2, "Staffing", "slide")
    assert rag.document_layout("review.pptx").page_start(2) == slide.start - len("Staffing\n")
