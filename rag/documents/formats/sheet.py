"""Spreadsheets: Excel workbooks sheet by sheet, and CSV files; one row per line, each
cell after its column's header, so a row is never split and a cell is quotable."""

from __future__ import annotations

import csv
import io

from rag.documents.formats.base import Text, TextBuilder, UnreadableFile, decode, open_zip
from rag.documents.formats.table import row_lines


def read_xlsx(data: bytes) -> Text:
    """Each sheet's rows, the sheet a page named as its section (no line of its own: a
    lone sheet name was quoted as an answer); cells are read as last computed (formulas
    give their values)."""
    import openpyxl

    open_zip(data, "Excel")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl lets lxml's and zip's errors through
        raise UnreadableFile(f"damaged Excel file ({type(err).__name__}: {err})") from None
    builder = TextBuilder("sheet")
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            lines = row_lines(sheet.iter_rows(values_only=True))
            if not lines:
                continue
            if len(builder):
                builder.add("\n\n")
            builder.page(number)
            builder.section(sheet.title)
            builder.add("\n".join(lines))
    finally:
        workbook.close()
    if not len(builder):
        raise UnreadableFile("workbook without values")
    return builder.build("xlsx")


def read_csv(data: bytes) -> Text:
    """The rows of a CSV file (comma, semicolon or tab separated: the file tells)."""
    decoded = decode(data)
    sample = decoded.text[:16_384]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        lines = row_lines(csv.reader(io.StringIO(decoded.text), dialect))
    except csv.Error as err:
        raise UnreadableFile(f"malformed CSV ({err})") from None
    builder = TextBuilder()
    builder.add("\n".join(lines))
    return builder.build(decoded.encoding)
