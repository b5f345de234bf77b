"""XLSX/XLSM -> one page per sheet, one line per non-empty row.

Cells are joined with `` | `` and labelled with the sheet's first row as DOCX tables are
(:mod:`ragkit.parse.tables`; tabs would not survive whitespace normalization). The workbook is streamed (openpyxl read-only mode), so memory is bounded by
one row rather than the sheet; cached formula results are read (``data_only``), not formulas.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from ..records import Page
from .tables import cell, table_lines


def _rows(sheet: Any) -> Iterator[list[str]]:
    """The sheet's rows, one at a time, without their trailing empty cells."""
    for row in sheet.iter_rows(values_only=True):
        cells = [cell(v) for v in row]
        while cells and not cells[-1]:
            cells.pop()
        yield cells


def parse(path: Path) -> list[Page]:
    """Sheet N is page N; its first line is the sheet's name."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        pages = []
        for number, sheet in enumerate(workbook.worksheets, start=1):
            lines = [sheet.title, *table_lines(_rows(sheet))]
            pages.append(Page(number, "\n".join(lines) if len(lines) > 1 else ""))
        return pages
    finally:
        workbook.close()
