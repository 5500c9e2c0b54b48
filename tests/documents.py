"""Real documents for the tests, written by the real libraries: Word, PowerPoint, Excel,
EPUB, PDF (fpdf2) and pictures of text (Pillow)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def text_picture(*lines: str, size: int = 44) -> bytes:
    """A PNG of black text on white, one line per argument, as a scanner would give."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=size)
    picture = Image.new("L", (1800, 120 + len(lines) * int(size * 2.2)), 255)
    draw = ImageDraw.Draw(picture)
    for n, line in enumerate(lines):
        draw.text((80, 60 + n * int(size * 2.2)), line, font=font, fill=0)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def blank_picture() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (800, 600), 255).save(out, format="PNG")
    return out.getvalue()


def pdf_document(pages: list[list[tuple[str, str]]], scan_dir: Path | None = None) -> bytes:
    """A PDF; each page a list of ``(kind, text)``: "h1"/"h2" a bookmarked heading,
    "p" a paragraph (wrapped over lines), "scan" lines of text as a picture only (needs
    ``scan_dir`` for the PNG)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for page in pages:
        pdf.add_page()
        for kind, text in page:
            if kind in ("h1", "h2"):
                pdf.set_font("helvetica", "B", 18 if kind == "h1" else 14)
                pdf.start_section(text, level=0 if kind == "h1" else 1)
                pdf.multi_cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "p":
                pdf.set_font("helvetica", size=11)
                pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(4)
            elif kind == "scan":
                assert scan_dir is not None
                picture = scan_dir / f"scan-{len(list(scan_dir.glob('scan-*')))}.png"
                picture.write_bytes(text_picture(*text.split("\n")))
                pdf.image(str(picture), x=10, y=20, w=190)
    return bytes(pdf.output())


def docx_document() -> bytes:
    """A report: a title, headings two deep, a list, and a budget table."""
    import docx

    document = docx.Document()
    document.add_heading("Harbour Report", 0)
    document.add_heading("1. Summary", 1)
    document.add_paragraph("The harbour handled more ships this year than in any year before.")
    document.add_heading("2. Findings", 1)
    document.add_heading("2.1 Costs", 2)
    document.add_paragraph("Dredging the channel was the largest single cost of the year.")
    document.add_paragraph("New cranes for the east quay", style="List Bullet")
    document.add_paragraph("A second pilot boat", style="List Bullet")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(
        table.rows,
        [
            ("Project", "Year", "Budget"),
            ("Lighthouse", "2024", "1.2 million euros"),
            ("Breakwater", "2025", "3.4 million euros"),
        ],
        strict=True,
    ):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_document() -> bytes:
    """Three slides with titles and text; the second has speaker notes."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slides = [
        ("Quarterly review", "The ferry service carried more passengers than planned.", ""),
        (
            "Staffing",
            "Two new harbour pilots were hired in March.",
            "The pilots finished their training on the night shift.",
        ),
        ("Outlook", "The new terminal opens next spring.", ""),
    ]
    for title, body, notes in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = title
        box = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(2))
        box.text_frame.text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_document() -> bytes:
    """A workbook of two sheets, "Budget" and "Staff", each with a header row."""
    import openpyxl

    workbook = openpyxl.Workbook()
    budget = workbook.active
    budget.title = "Budget"
    budget.append(["Project", "Year", "Budget (EUR)"])
    budget.append(["Ferry terminal", 2024, 8500000])
    budget.append(["Ferry terminal", 2025, 2100000])
    budget.append(["Quay repairs", 2024, 450000])
    staff = workbook.create_sheet("Staff")
    staff.append(["Name", "Role", "Started"])
    staff.append(["Ada Brandt", "Harbour master", 2019])
    staff.append(["Jon Ekberg", "Pilot", 2023])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def epub_document() -> bytes:
    """A book of two chapters; the spine reads them in the opposite order of their files'
    names, as a book's reading order need not follow names."""
    chapters = {
        "b.xhtml": "<h1>Chapter 1: The Storm</h1><p>The storm of 1953 flooded the town.</p>",
        "a.xhtml": "<h1>Chapter 2: The Rebuilding</h1><p>The sea wall was finished in 1961.</p>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        book.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            "<manifest>"
            '<item id="one" href="text/b.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="two" href="text/a.xhtml" media-type="application/xhtml+xml"/>'
            '</manifest><spine><itemref idref="one"/><itemref idref="two"/></spine></package>',
        )
        for name, body in chapters.items():
            book.writestr(
                f"OEBPS/text/{name}",
                '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head>'
                f"<title>{name}</title></head><body>{body}</body></html>",
            )
    return out.getvalue()


def zip_bomb(inner: str = "word/document.xml", size: int = 1024 * 2**20) -> bytes:
    """A small zip (a few MB) that would unpack to ``size`` bytes, named like a .docx's part."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bomb,
        bomb.open(inner, "w", force_zip64=True) as part,
    ):
        block = b"\0" * 2**20
        for _ in range(size // len(block)):
            part.write(block)
    return out.getvalue()


ANNUAL_PDF = [
    [
        ("h1", "1. Introduction"),
        (
            "p",
            "The harbour festival opens on Friday. It has run every summer since 1950, and "
            "draws visitors from the whole coast and from the islands.",
        ),
    ],
    [("scan", "The lighthouse was repainted in 1998.\nIts lamp shines 30 kilometres.")],
    [
        ("h1", "2. Findings"),
        ("h2", "2.1 Costs"),
        ("p", "Dredging the northern channel cost 4.1 million euros in 2023."),
    ],
]


def mixed_corpus(folder: Path, scans: Path) -> None:
    """One document of every format, each holding facts no other one does."""
    (folder / "annual.pdf").write_bytes(pdf_document(ANNUAL_PDF, scans))
    (folder / "harbour-report.docx").write_bytes(docx_document())
    (folder / "review.pptx").write_bytes(pptx_document())
    (folder / "budget.xlsx").write_bytes(xlsx_document())
    (folder / "book.epub").write_bytes(epub_document())
    (folder / "notice.png").write_bytes(
        text_picture("The island ferry leaves the pier at noon.", "Tickets are sold on board.")
    )
    (folder / "cities.csv").write_text("City,Population\nBergen,291940\nTromso,77544\n")
    (folder / "guide.md").write_text(
        "# Visitor guide\n\n## Opening hours\n\nThe maritime museum opens at ten on weekdays.\n"
    )
