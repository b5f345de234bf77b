"""PDF pages with ruled tables -> the same pages with each table as header-labelled rows.

A PDF's text layer flattens a table into runs of cells ("TABLEFORMERLARGE inter-sqa 51.3
52.6"), and which column a number is in is lost. pdfplumber finds a ruled table from the
lines drawn around its cells and reads it cell by cell; each row then becomes a line labelled
with its column headers (:func:`ragkit.parse.tables.table_lines`), where the page's table was.

pdfplumber parses a page about ten times slower than pypdf, so it reads only the pages that
draw enough path objects to hold a ruled table (PDFium counts them cheaply); a page of plain
text costs nothing more. Tables without rules (many academic tables) are left as the text
layer has them: finding columns from white space alone makes tables out of two-column text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2
import pypdfium2.raw as pdfium_c

from ..records import Page
from .tables import table_lines

#: Path objects (lines, rectangles) a page must draw before it is searched for tables: a
#: ruled table of two rows and two columns draws at least this many.
MIN_PATHS = 6
#: A table has at least this many rows of at least this many filled cells.
MIN_ROWS, MIN_COLUMNS = 2, 2
#: The re-read page must keep this share of the text layer's visible characters, or the text
#: layer stays (pdfplumber maps some fonts worse than pypdf).
MIN_KEPT = 0.8

#: Whether :func:`with_tables` re-reads pages (the ``pdf_tables`` setting; the parse worker
#: sets it for its process).
enabled = True

# pdfminer logs every odd font at WARNING: noise for a user ingesting a folder.
logging.getLogger("pdfminer").setLevel(logging.ERROR)


def ruled_pages(path: Path, password: str) -> list[int]:
    """Numbers (1-based) of the pages that draw enough paths to hold a ruled table."""
    try:
        document = pypdfium2.PdfDocument(str(path), password=password or None)
    except pypdfium2.PdfiumError:  # pypdf read it; its text layer stands
        return []
    try:
        found = []
        for number in range(1, len(document) + 1):
            page = document[number - 1]
            paths = sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2))
            if paths >= MIN_PATHS:
                found.append(number)
        return found
    finally:
        document.close()


def _visible(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def _fill_merged(row: list[str | None]) -> list[str | None]:
    """A cell merged across columns is text then ``None``s: its text under each of its columns,
    as Word and HTML tables repeat it, so that the columns after it keep their headers."""
    if sum(1 for value in row if value is not None) < 2:  # one cell across the table: a label
        return row
    filled: list[str | None] = []
    for value in row:
        filled.append(filled[-1] if value is None and filled else value)
    return filled


def _rows(table: list[list[str | None]]) -> list[list[str | None]]:
    """The table's rows, a row whose filled cells all hold the same number of lines (k > 1) as k
    rows: tables shaded in bands of rows rule only every few rows, and pdfplumber then reads a
    band as one row of multi-line cells."""
    rows: list[list[str | None]] = []
    header_seen = False
    for row in map(_fill_merged, table):
        lines = [None if c is None else c.split("\n") for c in row]
        counts = {len(c) for c in lines if c is not None and any(part.strip() for part in c)}
        is_header = not header_seen and sum(1 for c in row if c and c.strip()) >= MIN_COLUMNS
        header_seen = header_seen or is_header
        if len(counts) == 1 and (k := counts.pop()) > 1 and not is_header:  # a header's lines wrap, it stays one row
            rows += [[None if c is None or len(c) != k else c[i] for c in lines] for i in range(k)]
        else:
            rows.append(row)
    return rows


def _is_table(rows: list[list[str | None]]) -> bool:
    """Enough rows of at least two filled cells, and most rows such: shading and boxes around
    text also draw lines, and read as "tables" of one cell per row."""
    wide = sum(1 for r in rows if sum(1 for c in r if c and c.strip()) >= MIN_COLUMNS)
    return wide >= MIN_ROWS and wide * 2 >= len(rows)


def _page_with_tables(page: Any) -> str | None:
    """The page's text with its tables as labelled rows, top to bottom; None without a table."""
    tables = [(t, rows) for t in page.find_tables() if _is_table(rows := _rows(t.extract()))]
    if not tables:
        return None
    tables.sort(key=lambda pair: pair[0].bbox[1])
    parts: list[str] = []
    top = page.bbox[1]
    for table, rows in tables:
        x0, table_top, x1, bottom = table.bbox
        if table_top > top:  # the text between the previous table and this one, beside it too
            band = page.crop((page.bbox[0], top, page.bbox[2], table_top))
            parts.append(band.extract_text() or "")
        beside = page.crop((page.bbox[0], table_top, page.bbox[2], bottom)).filter(
            lambda obj, left=x0, right=x1: obj.get("x1", 0) <= left or obj.get("x0", 0) >= right
        )
        parts.append(beside.extract_text() or "")
        parts.append("\n".join(table_lines(rows)))
        top = max(top, bottom)
    if top < page.bbox[3]:
        parts.append(page.crop((page.bbox[0], top, page.bbox[2], page.bbox[3])).extract_text() or "")
    return "\n".join(p for p in parts if p.strip())


def with_tables(path: Path, pages: Sequence[Page], password: str) -> list[Page]:
    """``pages`` (the text layer's reading), each page with a ruled table read again."""
    if not enabled:
        return list(pages)
    read: dict[int, str] = {}
    try:
        # Pages with hidden text keep the text layer: its hidden runs are flagged by matching
        # them in the page's text, which relabelled rows would break.
        wanted = {p.number for p in pages if p.text and not p.hidden} & set(ruled_pages(path, password))
        if not wanted:
            return list(pages)
        with pdfplumber.open(str(path), password=password or None) as document:
            for number in sorted(wanted):
                page = document.pages[number - 1]
                text = _page_with_tables(page)
                page.close()  # its parsed objects: memory is limited in the parse worker
                if text is not None:
                    read[number] = text
    except Exception:  # noqa: BLE001 - pdfminer and PDFium fail in many ways on odd files; the text layer stands
        return list(pages)
    return [
        Page(p.number, read[p.number], p.hidden)
        if p.number in read and _visible(read[p.number]) >= MIN_KEPT * _visible(p.text)
        else p
        for p in pages
    ]
