"""Readers turn each supported format into exact, deterministic text, or say why they can't."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from rag.documents.formats import Text, UnreadableFile, decode, ocr, read_html, read_pdf
from rag.documents.formats.base import MAX_UNZIPPED_BYTES
from rag.documents.formats.epub import read_epub
from rag.documents.formats.image import read_image
from rag.documents.formats.office import read_docx, read_pptx
from rag.documents.formats.plain import read_markdown
from rag.documents.formats.sheet import read_csv, read_xlsx
from tests.documents import (
    blank_picture,
    docx_document,
    epub_document,
    pdf_document,
    pptx_document,
    text_picture,
    xlsx_document,
    zip_bomb,
)


def make_pdf(*pages: str) -> bytes:
    """A real PDF with a Helvetica text layer, one line of text per page, built by hand."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 "
            b"/BaseFont /Helvetica >> >> >> >>" % content
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def encrypt(pdf: bytes, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- text encodings ---


@pytest.mark.parametrize(
    ("codec", "encoding"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("utf-16", "utf-16"), ("utf-32", "utf-32")],
)
def test_unicode_text_decodes_exactly_with_or_without_a_bom(codec: str, encoding: str) -> None:
    text = "Zoë paid 5 € for crème brûlée in Kraków."
    assert decode(text.encode(codec)) == Text(text, encoding)


def test_latin1_text_is_read_as_windows_1252_and_reported() -> None:
    text = "Le café de la gare servait une crème brûlée très appréciée des voyageurs. " * 3
    decoded = decode(text.encode("latin-1"))
    assert decoded.text == text
    assert decoded.encoding == "cp1252"


def test_binary_data_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def test_control_character_soup_is_refused_as_binary() -> None:
    with pytest.raises(UnreadableFile, match="binary"):
        decode(bytes(range(1, 32)) * 20)


def test_a_broken_utf16_file_is_refused_with_its_encoding() -> None:
    with pytest.raises(UnreadableFile, match="UTF-16"):
        decode("ok".encode("utf-16") + b"\x00\xd8")  # a lone high surrogate at the end


# --- HTML ---

PAGE = b"""<!doctype html><html><head><title>Harbour news</title>
<style>p { color: red }</style><script>alert("x")</script></head>
<body><h1>Festival</h1><p>The harbour festival opens on <b>Friday</b> &amp; runs
three days.</p><noscript>Enable JS</noscript><ul><li>Boats</li><li>Music</li></ul>
<img src=x onerror="alert(1)"><p>Tickets cost 5&nbsp;euros.</p></body></html>"""


def test_html_keeps_the_title_and_visible_text_one_block_per_line() -> None:
    assert read_html(PAGE).text == (
        "Harbour news\n\nFestival\n\nThe harbour festival opens on Friday & runs three days."
        "\n\nBoats\n\nMusic\n\nTickets cost 5 euros."
    )


def test_html_drops_scripts_styles_and_markup() -> None:
    text = read_html(PAGE).text
    for hidden in ("alert", "color: red", "Enable JS", "<", "onerror"):
        assert hidden not in text


def test_html_with_only_scripts_is_empty() -> None:
    assert read_html(b"<script>var a = 1;</script>").text == ""


# --- PDF ---


def test_pdf_text_layer_is_read_page_by_page() -> None:
    text = read_pdf(make_pdf("The harbour festival opens on Friday.", "Tickets cost 5 euros.")).text
    assert text == "The harbour festival opens on Friday.\n\nTickets cost 5 euros."


def test_a_pdf_encrypted_with_an_empty_password_is_read() -> None:
    pdf = encrypt(make_pdf("Open to all readers."), password="")
    assert read_pdf(pdf).text == "Open to all readers."


def test_a_pdf_that_needs_a_password_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="encrypted PDF"):
        read_pdf(encrypt(make_pdf("Secret plans."), password="secret"))


def test_a_truncated_pdf_is_refused_as_damaged() -> None:
    pdf = make_pdf("Half of this file is missing.")
    with pytest.raises(UnreadableFile, match="PDF"):
        read_pdf(pdf[: len(pdf) // 3])


def test_a_pdf_without_a_text_layer_says_so() -> None:
    with pytest.raises(UnreadableFile, match=r"PDF without text \(its pages have no text layer"):
        read_pdf(make_pdf(""))


def sections(text: Text) -> dict[str, str]:
    """Heading path -> the first line of the text under it."""
    return {path: text.text[start:].split("\n", 1)[0] for start, path in text.layout.sections}


def test_html_headings_begin_sections_under_the_headings_above_them() -> None:
    text = read_html(
        b"<h1>Report</h1><p>Intro.</p><h2>Costs</h2><p>Money.</p><h2>Staff</h2><p>People.</p>"
    )
    assert sections(text) == {
        "Report": "Report",
        "Report > Costs": "Costs",
        "Report > Staff": "Staff",
    }
    assert text.layout.section_at(text.text.index("Money")) == "Report > Costs"


# --- Markdown ---


def test_markdown_headings_begin_sections_but_not_inside_code() -> None:
    markdown = (
        "# Guide\n\nIntro.\n\n## Install\n```\n# not a heading\n```\nRun it.\n\n"
        "Usage\n-----\nAsk away.\n"
    )
    text = read_markdown(markdown.encode())
    assert text.text == markdown  # as written
    assert sections(text) == {
        "Guide": "# Guide",
        "Guide > Install": "## Install",
        "Guide > Usage": "Usage",
    }
    assert text.layout.section_at(markdown.index("Run it")) == "Guide > Install"


# --- PDF, page by page ---


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory: pytest.TempPathFactory) -> Text:
    """Page 1 with a wrapped paragraph, page 2 a scan (a picture only), page 3 two
    bookmarked headings."""
    return read_pdf(
        pdf_document(
            [
                [
                    ("h1", "1. Introduction"),
                    (
                        "p",
                        "The harbour festival opens on Friday. It has run every summer since "
                        "1950, and draws visitors from the whole coast and from the islands.",
                    ),
                ],
                [("scan", "The lighthouse was repainted in 1998.\nIts lamp shines 30 kilometres.")],
                [("h1", "2. Findings"), ("h2", "2.1 Costs"), ("p", "The budget was 1.2 million.")],
            ],
            tmp_path_factory.mktemp("scans"),
        )
    )


def test_pdf_pages_are_kept_and_each_offset_knows_its_page(three_pages: Text) -> None:
    text = three_pages
    assert [n for _, n in text.layout.pages] == [1, 2, 3]
    assert text.layout.page_at(text.text.index("harbour festival")) == 1
    assert text.layout.page_at(text.text.index("lighthouse")) == 2
    assert text.layout.page_at(text.text.index("budget")) == 3


def test_a_sentence_wrapped_over_two_lines_stays_one_line_of_text(three_pages: Text) -> None:
    assert (
        "The harbour festival opens on Friday. It has run every summer since 1950, and draws "
        "visitors from the whole coast and from the islands." in three_pages.text.split("\n")
    )


def test_pdf_bookmarks_begin_sections_at_their_headings(three_pages: Text) -> None:
    text = three_pages
    assert text.layout.section_at(text.text.index("budget")) == "2. Findings > 2.1 Costs"
    assert text.layout.section_at(text.text.index("harbour festival")) == "1. Introduction"
    assert sections(text)["2. Findings > 2.1 Costs"] == "2.1 Costs"


def test_a_scanned_page_is_read_by_ocr(three_pages: Text) -> None:
    assert three_pages.ocr_pages == 1
    assert "The lighthouse was repainted in 1998." in three_pages.text
    assert "Its lamp shines 30 kilometres." in three_pages.text


def test_without_tesseract_a_scan_is_skipped_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    scan = pdf_document([[("scan", "A page that is only a picture.")]], tmp_path)
    with pytest.raises(UnreadableFile, match="apt-get install tesseract-ocr"):
        read_pdf(scan)
    with pytest.raises(UnreadableFile, match="Tesseract is not installed"):
        read_image(text_picture("A picture of text."))


def test_a_500_page_pdf_is_read_whole() -> None:
    text = read_pdf(make_pdf(*(f"Page {n} of the long report." for n in range(1, 501))))
    assert len(text.layout.pages) == 500
    assert text.layout.page_at(text.text.index("Page 377 of")) == 377


# --- pictures ---


def test_a_picture_of_text_is_read_by_ocr() -> None:
    text = read_image(text_picture("The ferry leaves at noon.", "Tickets are sold on board."))
    assert text.text == "The ferry leaves at noon.\nTickets are sold on board."
    assert text.ocr_pages == 1 and text.layout.page_at(0) == 1


def test_a_picture_without_text_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="image without text"):
        read_image(blank_picture())


def test_a_damaged_picture_is_refused() -> None:
    with pytest.raises(UnreadableFile, match="damaged image"):
        read_image(text_picture("Cut short.")[:100])


# --- Word ---


def test_word_keeps_headings_lists_and_table_rows_in_order() -> None:
    text = read_docx(docx_document())
    lines = text.text.splitlines()
    assert lines[0] == "Harbour Report"
    assert "• New cranes for the east quay" in lines
    assert "Project: Lighthouse; Year: 2024; Budget: 1.2 million euros" in lines
    assert (
        lines.index("2.1 Costs")
        < lines.index("• A second pilot boat")
        < lines.index("Project: Breakwater; Year: 2025; Budget: 3.4 million euros")
    )
    row = text.text.index("Project: Lighthouse")
    assert text.layout.section_at(row) == "Harbour Report > 2. Findings > 2.1 Costs"
    assert text.layout.section_at(text.text.index("more ships")) == "Harbour Report > 1. Summary"


# --- PowerPoint ---


def test_each_slide_is_a_page_and_a_section_with_its_notes() -> None:
    text = read_pptx(pptx_document())
    assert text.layout.unit == "slide"
    notes = text.text.index("The pilots finished their training")
    assert text.layout.page_at(notes) == 2
    assert text.layout.section_at(notes) == "Staffing"
    assert text.layout.page_at(text.text.index("new terminal")) == 3
    assert text.text.split("\n\n")[1].splitlines() == [
        "Staffing",
        "Two new harbour pilots were hired in March.",
        "Notes:",
        "The pilots finished their training on the night shift.",
    ]


# --- spreadsheets ---


def test_each_sheet_is_a_page_and_each_row_a_line_with_its_header() -> None:
    text = read_xlsx(xlsx_document())
    assert text.layout.unit == "sheet"
    row = "Project: Ferry terminal; Year: 2024; Budget (EUR): 8500000"
    assert row in text.text.splitlines()
    assert text.layout.page_at(text.text.index(row)) == 1
    staff = text.text.index("Name: Jon Ekberg; Role: Pilot; Started: 2023")
    assert (text.layout.page_at(staff), text.layout.section_at(staff)) == (2, "Staff")


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_csv_rows_are_lines_with_their_header(separator: str) -> None:
    data = separator.join(["City", "Population"]) + "\n" + separator.join(["Bergen", "291940"])
    assert read_csv(data.encode()).text == "City: Bergen; Population: 291940"


def test_a_quoted_csv_cell_keeps_its_comma() -> None:
    text = read_csv(b'Name,Note\nQuay,"closed, for repairs"\n').text
    assert text.splitlines() == ["Name: Quay; Note: closed, for repairs"]


# --- EPUB ---


def test_epub_chapters_follow_the_spine_with_their_headings() -> None:
    text = read_epub(epub_document())
    assert text.text.index("storm of 1953") < text.text.index("sea wall")  # spine, not names
    assert text.layout.section_at(text.text.index("sea wall")) == "Chapter 2: The Rebuilding"


# --- bad zip-based files ---


@pytest.mark.parametrize(
    ("reader", "kind"),
    [(read_docx, "Word"), (read_pptx, "PowerPoint"), (read_xlsx, "Excel"), (read_epub, "EPUB")],
)
def test_a_file_that_is_no_zip_is_refused_as_damaged(reader, kind: str) -> None:
    with pytest.raises(UnreadableFile, match=f"damaged {kind} file .not a zip archive."):
        reader(b"This is not a zip archive at all.")


@pytest.mark.parametrize(("reader", "kind"), [(read_docx, "Word"), (read_xlsx, "Excel")])
def test_a_password_protected_office_file_is_refused(reader, kind: str) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)  # how Office stores encrypted files
    with pytest.raises(UnreadableFile, match=f"password-protected or legacy {kind} file"):
        reader(ole)


def test_a_zip_bomb_posing_as_a_word_file_is_refused_before_unpacking() -> None:
    bomb = zip_bomb(size=MAX_UNZIPPED_BYTES + 2**20)
    assert len(bomb) < 4 * 2**20
    with pytest.raises(UnreadableFile, match="zip bomb"):
        read_docx(bomb)


def test_a_zip_that_is_not_a_word_document_is_refused_as_damaged() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a document")
    with pytest.raises(UnreadableFile, match="damaged Word file"):
        read_docx(buffer.getvalue())
