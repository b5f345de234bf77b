"""Table rows -> lines that keep their column headers, in every format that has tables.

A flattened row ("Nordics | 1,610 | 1,870 | 16.1%") loses what its numbers are: a small model
then answers with a cell of the wrong column, or of another table. Every row after a header
row is written with its header labels ("Region: Nordics | Q3 2026 revenue (EUR k): 1,870 |
…"), so that a chunk holding any row still says which column each value is in, and the row is
one sentence that the evidence check can quote. The header row itself stays a plain row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

_NUMBER = re.compile(r"^[\s\d.,%+\-()€$£¥]*$")


def cell(text: object) -> str:
    """A cell's text on one line (None is empty)."""
    return "" if text is None else " ".join(str(text).split())


def join_cells(texts: Iterable[str]) -> str:
    """One row as ``a | b | c``; merged cells, which repeat their text, appear once."""
    cells: list[str] = []
    for text in texts:
        value = cell(text)
        if not cells or cells[-1] != value:
            cells.append(value)
    return " | ".join(cells)


def _is_header(row: Sequence[str]) -> bool:
    """A first row that names columns: at least two cells, all filled (but the top-left one,
    often empty above a column of row names), not all numbers."""
    filled = [c for c in row if c]
    return len(row) >= 2 and len(filled) >= len(row) - (not row[0]) and not all(_NUMBER.match(c) for c in filled)


def _labelled(header: Sequence[str], row: Sequence[str]) -> str:
    pairs: list[str] = []
    for name, value in zip(header, row, strict=False):
        if not value:
            continue
        pair = value if value == name or not name else f"{name}: {value}"
        if not pairs or pairs[-1] != pair:  # a merged cell repeats its text
            pairs.append(pair)
    pairs += [v for v in row[len(header) :] if v]
    return " | ".join(pairs)


def table_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The table's non-empty rows as lines: a header row as is, the rows after it labelled.

    Rows are read one at a time (a streamed spreadsheet stays bounded by one row). Rows of one
    filled cell above the first wider row are titles, kept as lines. A first row that is no
    header (an empty cell, only numbers) leaves plain ``a | b | c`` rows.
    """
    header: list[str] | None = None
    first = True
    for row in rows:
        cells = [cell(c) for c in row]
        if not any(cells):
            continue
        if first and len(set(filter(None, cells))) == 1:
            yield next(filter(None, cells))
        elif first:
            first = False
            header = cells if _is_header(cells) else None
            yield join_cells(cells)
        elif header is not None and len(header) > 2 and cells[0] and not any(cells[1:]):
            yield next(filter(None, cells))  # one cell across a wide table: a section label, no value
        elif header is not None:
            yield _labelled(header, cells)
        else:
            yield join_cells(cells)
