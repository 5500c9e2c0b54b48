"""Word and PowerPoint files: paragraphs, headings, lists and tables in reading order;
one section per slide with its notes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rag.documents.formats.base import Text, TextBuilder, UnreadableFile, open_zip
from rag.documents.formats.table import row_lines

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph


def _damaged(kind: str, err: Exception) -> UnreadableFile:
    return UnreadableFile(f"damaged {kind} file ({type(err).__name__}: {err})")


def read_docx(data: bytes) -> Text:
    """A Word document: headings begin sections (the Title style above Heading 1), list
    items start with a bullet, each table row is a line with its header."""
    import docx
    from docx.table import Table

    open_zip(data, "Word")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as err:  # python-docx lets lxml's and zip's errors through
        raise _damaged("Word", err) from None
    builder = TextBuilder()
    for block in blocks:
        if isinstance(block, Table):
            _add_block(builder, "\n".join(row_lines(_docx_rows(block))), gap=True)
            continue
        text = "\n".join(line.strip() for line in block.text.splitlines() if line.strip())
        if not text:
            continue
        level = _heading_level(block)
        if not level and _is_list_item(block):
            text = f"• {text}"
        _add_block(builder, text, gap=bool(level), level=level)
    if not len(builder):
        raise UnreadableFile("Word document without text")
    return builder.build("docx")


def _add_block(builder: TextBuilder, text: str, gap: bool = False, level: int = 0) -> None:
    """Append a block on a line of its own, after a blank line when ``gap``; a heading
    (``level`` > 0) begins a section."""
    if len(builder):
        builder.add("\n\n" if gap else "\n")
    if level:
        builder.heading(level, text)
    builder.add(text)


def _heading_level(paragraph: Paragraph) -> int:
    """1 for the Title style, 2 for Heading 1, 3 for Heading 2 ...; 0 for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name == "Title":
        return 1
    if name.startswith("Heading ") and name[8:].isdigit():
        return int(name[8:]) + 1
    return 0


def _is_list_item(paragraph: Paragraph) -> bool:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    properties = paragraph._p.pPr  # numbering is only in the XML
    return name.startswith("List") or (properties is not None and properties.numPr is not None)


def _docx_rows(table: Table) -> Iterator[list[str]]:
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:  # a merged cell repeats: keep it once
            text = " ".join(cell.text.split())
            if not cells or text != cells[-1]:
                cells.append(text)
        yield cells


def read_pptx(data: bytes) -> Text:
    """A presentation: one section per slide (its title), then its text boxes and tables
    in order, then its speaker notes."""
    from pptx import Presentation

    open_zip(data, "PowerPoint")
    try:
        slides = list(Presentation(io.BytesIO(data)).slides)
    except Exception as err:  # python-pptx lets lxml's and zip's errors through
        raise _damaged("PowerPoint", err) from None
    builder = TextBuilder("slide")
    for number, slide in enumerate(slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text.split()) if title_shape is not None else ""
        lines = [title] if title else []
        for shape in _shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            lines += _shape_lines(shape)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            noted = [" ".join(p.split()) for p in (notes.text if notes else "").splitlines()]
            if any(noted):
                lines += ["Notes:", *(n for n in noted if n)]
        if not lines:
            continue
        if len(builder):
            builder.add("\n\n")
        builder.page(number)
        builder.section(title or f"Slide {number}")
        builder.add("\n".join(lines))
    if not len(builder):
        raise UnreadableFile("presentation without text")
    return builder.build("pptx")


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape, those inside groups too, in reading order."""
    for shape in shapes:
        if getattr(shape, "shape_type", None) == 6:  # MSO_SHAPE_TYPE.GROUP
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _shape_lines(shape: Any) -> list[str]:
    if getattr(shape, "has_table", False):
        rows = [[" ".join(c.text.split()) for c in row.cells] for row in shape.table.rows]
        return row_lines(rows)
    if getattr(shape, "has_text_frame", False):
        return [t for p in shape.text_frame.paragraphs if (t := " ".join(p.text.split()))]
    return []
