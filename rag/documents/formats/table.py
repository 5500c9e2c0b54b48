"""Rows of a table as lines of text: each cell after its column's header, so a row is one
quotable line that carries its own meaning ("Project: Lighthouse; Year: 2024; Budget: 1.2M")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence


def cell_text(value: object) -> str:
    """A cell as people read it: whole numbers without ".0", dates without midnight."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def header_names(cells: Sequence[object]) -> list[str]:
    """Column names from a header row; an unnamed column is called by its number."""
    return [cell_text(c) or f"Column {n}" for n, c in enumerate(cells, start=1)]


def row_lines(rows: Iterable[Sequence[object]]) -> list[str]:
    """One line per non-empty row after the header (the first non-empty row), which each
    line repeats, so the header needs no line of its own: alone it answers nothing.

    A table of one row has no header: its cells are joined as they are.
    """
    rows = [[cell_text(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return ["; ".join(c for c in row if c) for row in rows]
    header = header_names(rows[0])
    lines = []
    for row in rows[1:]:
        named = [
            f"{header[n] if n < len(header) else f'Column {n + 1}'}: {cell}"
            for n, cell in enumerate(row)
            if cell
        ]
        lines.append("; ".join(named))
    return lines
