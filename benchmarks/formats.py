"""Ingest speed per format: how many pages a second rag reads, and indexes, of each kind
of document, scanned pages (OCR) included.

    .venv/bin/python benchmarks/formats.py               # 40 pages a format, 6 scans: ~4 min
    .venv/bin/python benchmarks/formats.py --pages 200 --scans 20
    .venv/bin/python benchmarks/formats.py --pages 500 --formats pdf --runs 1

Each format gets a document of ``--pages`` pages of real prose (SQuAD v1.1 dev
paragraphs, two a page, ~1,400 characters), written by the library people make such
files with: a PDF with a text layer (fpdf2), Word, PowerPoint (a slide a page), Excel
and CSV (ten rows a page), EPUB (a chapter a page), Markdown; and ``--scans`` pages as
pictures only: a scanned PDF and PNG files, read by Tesseract. "read" is the reader
alone (bytes to text with pages and sections), "ingest" is ``RAG.ingest`` of the file
into a fresh index (read, split, embed, write); each is the median of ``--runs`` runs.
Needs the test tools (fpdf2): ``scripts/setup.sh test``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.documents

from rag import RAG
from rag.documents.formats import READERS
from rag.evaluation.datasets import load_squad
from tests.documents import pdf_document, text_picture

ROWS_PER_PAGE = 10


def paragraphs(n: int) -> list[str]:
    """``n`` SQuAD dev paragraphs in Latin-1 (the PDF's standard font has no more)."""
    texts = list(load_squad(None).texts.values())
    return [
        " ".join(t.split()).encode("latin-1", "replace").decode("latin-1")
        for t in (texts * (n // len(texts) + 1))[:n]
    ]


def make_pdf(pages: list[list[str]], scans: Path) -> bytes:
    return pdf_document(
        [[("h1", f"Section {n}"), *(("p", p) for p in page)] for n, page in enumerate(pages, 1)],
        scans,
    )


def make_scanned_pdf(pages: list[list[str]], scans: Path) -> bytes:
    return pdf_document([[("scan", "\n".join(lines(page[0])))] for page in pages], scans)


def lines(text: str) -> list[str]:
    """A paragraph as the lines of a printed page (~18 lines of 70 characters)."""
    return textwrap.wrap(text, 70)[:18]


def make_docx(pages: list[list[str]], _: Path) -> bytes:
    import docx

    document = docx.Document()
    for n, page in enumerate(pages, 1):
        document.add_heading(f"Section {n}", 1)
        for text in page:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx(pages: list[list[str]], _: Path) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for n, page in enumerate(pages, 1):
        slide = deck.slides.add_slide(deck.slide_layouts[5])
        slide.shapes.title.text = f"Slide {n}"
        box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(5))
        box.text_frame.text = "\n".join(page)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def table_rows(pages: list[list[str]]) -> list[list[object]]:
    words = " ".join(p for page in pages for p in page).split()
    return [
        [f"Item {r}", 2000 + r % 25, r * 1250, " ".join(words[r * 12 : r * 12 + 12])]
        for r in range(len(pages) * ROWS_PER_PAGE)
    ]


def make_xlsx(pages: list[list[str]], _: Path) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Item", "Year", "Amount", "Note"])
    for row in table_rows(pages):
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def make_csv(pages: list[list[str]], _: Path) -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Item", "Year", "Amount", "Note"])
    writer.writerows(table_rows(pages))
    return out.getvalue().encode()


def make_epub(pages: list[list[str]], _: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="content.opf"/></rootfiles></container>',
        )
        items = "".join(f'<item id="c{n}" href="c{n}.xhtml"/>' for n in range(len(pages)))
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(pages)))
        book.writestr(
            "content.opf",
            f'<package xmlns="http://www.idpf.org/2007/opf"><manifest>{items}</manifest>'
            f"<spine>{spine}</spine></package>",
        )
        for n, page in enumerate(pages):
            body = "".join(f"<p>{p.replace('&', '&amp;').replace('<', '&lt;')}</p>" for p in page)
            book.writestr(
                f"c{n}.xhtml", f"<html><body><h1>Chapter {n + 1}</h1>{body}</body></html>"
            )
    return out.getvalue()


def make_markdown(pages: list[list[str]], _: Path) -> bytes:
    return "\n\n".join(
        f"## Section {n}\n\n" + "\n\n".join(p) for n, p in enumerate(pages, 1)
    ).encode()


def make_png(pages: list[list[str]], _: Path) -> list[bytes]:
    return [text_picture(*lines(page[0]), size=28) for page in pages]


FORMATS: dict[str, tuple[str, Callable[..., bytes | list[bytes]], bool]] = {
    "pdf": (".pdf", make_pdf, False),
    "docx": (".docx", make_docx, False),
    "pptx": (".pptx", make_pptx, False),
    "xlsx": (".xlsx", make_xlsx, False),
    "csv": (".csv", make_csv, False),
    "epub": (".epub", make_epub, False),
    "md": (".md", make_markdown, False),
    "pdf, scanned (OCR)": (".pdf", make_scanned_pdf, True),
    "png (OCR)": (".png", make_png, True),
}
"""Name -> (suffix, writer, scanned)."""


def read_all(read: Callable[[bytes], object], files: list[Path]) -> None:
    for file in files:
        read(file.read_bytes())


def ingest(folder: Path, files: list[Path], indexes: Path) -> None:
    """``files`` into a fresh index (read, split, embed, write)."""
    index = Path(tempfile.mkdtemp(dir=indexes.mkdir(exist_ok=True) or indexes))
    report = RAG(corpus_dir=folder, index_dir=index).ingest(files, progress=False)
    assert not report.skipped, report.skipped


def median_time(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=40, help="pages a format (default 40)")
    parser.add_argument("--scans", type=int, default=6, help="scanned pages a format (6)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each timing (3)")
    parser.add_argument(
        "--formats",
        nargs="+",
        choices=list(FORMATS),
        default=list(FORMATS),
        metavar="FORMAT",
        help="formats to time (default: all): " + ", ".join(map(repr, FORMATS)),
    )
    args = parser.parse_args()
    prose = paragraphs(2 * args.pages)
    pages = [prose[i : i + 2] for i in range(0, len(prose), 2)]
    work = Path(tempfile.mkdtemp(prefix="rag-formats-"))
    warm = RAG(corpus_dir=work, index_dir=work / "warm-index")  # models loaded once, untimed
    warm.ingest([], progress=False)
    print(f"{args.pages} pages a format ({args.scans} for OCR), median of {args.runs} runs\n")
    print("| format | pages | characters | read s | read pages/s | ingest s | ingest pages/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.formats:
        suffix, write, scanned = FORMATS[name]
        count = args.scans if scanned else args.pages
        folder = work / name.split()[0].replace(",", "") / ("ocr" if scanned else "text")
        folder.mkdir(parents=True, exist_ok=True)
        written = write(pages[:count], folder)
        files = []
        for n, data in enumerate(written if isinstance(written, list) else [written]):
            files.append(folder / f"doc{n}{suffix}")
            files[-1].write_bytes(data)
        read = READERS[suffix]
        chars = sum(len(read(f.read_bytes()).text) for f in files)
        read_s = median_time(partial(read_all, read, files), args.runs)
        ingest_s = median_time(partial(ingest, folder, files, work / "indexes"), args.runs)
        print(
            f"| {name} | {count} | {chars:,} | {read_s:.2f} | {count / read_s:,.1f} | "
            f"{ingest_s:.2f} | {count / ingest_s:,.1f} |"
        )
    print(
        "\nA page: two SQuAD paragraphs of prose (a slide, an EPUB chapter, ten spreadsheet "
        "rows); a scan: ~18 lines of text rendered as a picture."
    )


if __name__ == "__main__":
    main()
