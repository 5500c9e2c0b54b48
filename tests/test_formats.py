"""Readers turn each supported format into exact, deterministic text, or say why they can't."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader, PdfWriter

from rag.documents.formats import Text, UnreadableFile, decode, read_html, read_pdf


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
    with pytest.raises(UnreadableFile, match="PDF without text .its pages have no text layer"):
        read_pdf(make_pdf(""))
